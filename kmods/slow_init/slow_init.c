// SPDX-License-Identifier: GPL-2.0
/*
 * slow_init: a module whose init takes a long time (20 s by default), like a driver
 * waiting for firmware or slow hardware. It shows that kplugd keeps handling other
 * devices while one module's init runs: the kernel blocks only the thread that inserts it.
 * Its alias matches QEMU's usb-net device (vendor 0x0525, product 0xa4a2), which no
 * other module of the test VM claims.
 */
#include <linux/delay.h>
#include <linux/module.h>
#include <linux/usb.h>

static unsigned int seconds = 20;
module_param(seconds, uint, 0444);
MODULE_PARM_DESC(seconds, "how long init takes, in seconds");

static const struct usb_device_id slow_init_table[] = {
	{ USB_DEVICE(0x0525, 0xa4a2) },
	{ }
};
MODULE_DEVICE_TABLE(usb, slow_init_table);

static int __init slow_init_init(void)
{
	pr_info("slow_init: init starts, will take %u s\n", seconds);
	msleep(seconds * 1000);
	pr_info("slow_init: init done\n");
	return 0;
}

static void __exit slow_init_exit(void)
{
	pr_info("slow_init: unloaded\n");
}

module_init(slow_init_init);
module_exit(slow_init_exit);

MODULE_AUTHOR("kplug authors");
MODULE_DESCRIPTION("A module whose init is slow on purpose (kplug demo)");
MODULE_LICENSE("GPL");
