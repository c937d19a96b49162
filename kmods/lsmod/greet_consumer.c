// SPDX-License-Identifier: GPL-2.0
/*
 * greet_consumer: calls greet_provider_hello() from greet_provider. Because it uses an
 * exported symbol, depmod lists greet_provider as its dependency in modules.dep, insmod
 * fails with "Unknown symbol" unless the provider is loaded first, and while this
 * module is loaded the provider cannot be removed.
 */
#include <linux/module.h>

int greet_provider_hello(const char *who);

static int __init greet_consumer_init(void)
{
	pr_info("greet_consumer: loaded, the provider answered call %d\n", greet_provider_hello("consumer"));
	return 0;
}

static void __exit greet_consumer_exit(void)
{
	pr_info("greet_consumer: unloaded\n");
}

module_init(greet_consumer_init);
module_exit(greet_consumer_exit);

MODULE_AUTHOR("kplug authors");
MODULE_DESCRIPTION("Uses greet_provider's exported symbol (kplug tutorial)");
MODULE_LICENSE("GPL");
