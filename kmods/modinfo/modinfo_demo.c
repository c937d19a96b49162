// SPDX-License-Identifier: GPL-2.0
/*
 * modinfo_demo: a module that carries every kind of metadata modinfo shows. Each
 * MODULE_* macro below adds a "key=value" string to the .modinfo section of the .ko;
 * modinfo (and `kplug modinfo`) read them from the file without loading anything.
 * depmod copies the aliases to modules.alias and the softdep to modules.softdep.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>

static int verbose;
module_param(verbose, int, 0444);
MODULE_PARM_DESC(verbose, "log more on load, 0 or 1 (default: 0)");

static char *greeting = "hi";
module_param(greeting, charp, 0444);
MODULE_PARM_DESC(greeting, "the word logged on load (default: hi)");

static int __init modinfo_demo_init(void)
{
	pr_info("modinfo_demo: %s (version %s, verbose=%d)\n", greeting, THIS_MODULE->version, verbose);
	return 0;
}

static void __exit modinfo_demo_exit(void)
{
	pr_info("modinfo_demo: bye\n");
}

module_init(modinfo_demo_init);
module_exit(modinfo_demo_exit);

MODULE_AUTHOR("kplug authors");
MODULE_DESCRIPTION("A module with complete metadata for modinfo to show (kplug tutorial)");
MODULE_VERSION("1.2.0");
MODULE_LICENSE("GPL");
/* `modprobe kplug-demo-info` finds this module through the alias. */
MODULE_ALIAS("kplug-demo-info");
/* `modprobe modinfo_demo` loads hello first (a soft dependency: no symbol is shared). */
MODULE_SOFTDEP("pre: hello");
