// SPDX-License-Identifier: GPL-2.0
/*
 * fail_init: a module whose init fails with -ENODEV, as a driver does when the hardware
 * it looks for is not there. kplugd must report the failure with its errno, not retry it
 * in a loop, and not record the module as loaded by it.
 * Its alias matches QEMU's usb-serial device (FTDI, vendor 0x0403, product 0x6001),
 * which no other module of the test VM claims.
 */
#include <linux/module.h>
#include <linux/usb.h>

static const struct usb_device_id fail_init_table[] = {
	{ USB_DEVICE(0x0403, 0x6001) },
	{ }
};
MODULE_DEVICE_TABLE(usb, fail_init_table);

static int __init fail_init_init(void)
{
	pr_info("fail_init: init runs and fails with -ENODEV (on purpose)\n");
	return -ENODEV;
}

static void __exit fail_init_exit(void)
{
}

module_init(fail_init_init);
module_exit(fail_init_exit);

MODULE_AUTHOR("kplug authors");
MODULE_DESCRIPTION("A module whose init fails on purpose (kplug fault test)");
MODULE_LICENSE("GPL");
