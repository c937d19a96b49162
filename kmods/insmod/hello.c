// SPDX-License-Identifier: GPL-2.0
/*
 * hello: the first module of the kplug tutorial. It greets on load and says goodbye on
 * unload, and takes two parameters, `name` and `count`, that insmod sets
 * (`insmod hello.ko name=Ada count=3`) and that stay readable, and writable by root, in
 * /sys/module/hello/parameters/.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>

static char *name = "world";
module_param(name, charp, 0644);
MODULE_PARM_DESC(name, "who to greet (default: world)");

static int count = 1;
module_param(count, int, 0644);
MODULE_PARM_DESC(count, "how many times to greet, 1 to 10 (default: 1)");

static int __init hello_init(void)
{
	int i;

	if (count < 1 || count > 10) {
		pr_err("hello: count=%d is out of range: give 1 to 10\n", count);
		return -EINVAL;
	}
	for (i = 1; i <= count; i++)
		pr_info("hello: Hello, %s! (%d of %d)\n", name, i, count);
	return 0;
}

static void __exit hello_exit(void)
{
	/* Parameters may have been changed through sysfs since the load. */
	pr_info("hello: Goodbye, %s! (count is %d now)\n", name, count);
}

module_init(hello_init);
module_exit(hello_exit);

MODULE_AUTHOR("kplug authors");
MODULE_DESCRIPTION("Greets on load and unload; parameters name and count (kplug tutorial)");
MODULE_LICENSE("GPL");
