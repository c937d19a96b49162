// SPDX-License-Identifier: GPL-2.0
/*
 * greet_provider: exports one function, greet_provider_hello(). A module that calls it
 * (greet_consumer) can only load while this one is loaded, and the kernel counts it as
 * a user: lsmod shows "greet_provider ... 1 greet_consumer", and rmmod refuses to remove
 * the provider until the consumer is gone.
 */
#include <linux/module.h>

static atomic_t calls = ATOMIC_INIT(0);

int greet_provider_hello(const char *who)
{
	int n = atomic_inc_return(&calls);

	pr_info("greet_provider: hello, %s (call %d)\n", who, n);
	return n;
}
EXPORT_SYMBOL_GPL(greet_provider_hello);

static int __init greet_provider_init(void)
{
	pr_info("greet_provider: loaded, exporting greet_provider_hello()\n");
	return 0;
}

static void __exit greet_provider_exit(void)
{
	pr_info("greet_provider: unloaded after %d calls\n", atomic_read(&calls));
}

module_init(greet_provider_init);
module_exit(greet_provider_exit);

MODULE_AUTHOR("kplug authors");
MODULE_DESCRIPTION("Exports a symbol for greet_consumer (kplug tutorial)");
MODULE_LICENSE("GPL");
