// SPDX-License-Identifier: GPL-2.0
/*
 * usb_hello: a USB driver that does nothing but say hello. Its device table matches the
 * smart-card reader QEMU emulates as `usb-ccid` (vendor 0x08e6, product 0x4433), so
 * plugging that device makes the kernel emit a uevent whose MODALIAS names this module,
 * kplugd loads it, and the kernel calls probe(); unplugging calls disconnect().
 */
#include <linux/module.h>
#include <linux/usb.h>

static const struct usb_device_id usb_hello_table[] = {
	{ USB_DEVICE(0x08e6, 0x4433) },
	{ }
};
MODULE_DEVICE_TABLE(usb, usb_hello_table);

static int usb_hello_probe(struct usb_interface *intf, const struct usb_device_id *id)
{
	struct usb_device *udev = interface_to_usbdev(intf);

	dev_info(&intf->dev, "usb_hello: probe: hello, %04x:%04x \"%s\" at bus %d device %d interface %d\n",
		 le16_to_cpu(udev->descriptor.idVendor), le16_to_cpu(udev->descriptor.idProduct),
		 udev->product ? udev->product : "?", udev->bus->busnum, udev->devnum,
		 intf->cur_altsetting->desc.bInterfaceNumber);
	return 0;
}

static void usb_hello_disconnect(struct usb_interface *intf)
{
	struct usb_device *udev = interface_to_usbdev(intf);

	dev_info(&intf->dev, "usb_hello: disconnect: goodbye, %04x:%04x at bus %d device %d\n",
		 le16_to_cpu(udev->descriptor.idVendor), le16_to_cpu(udev->descriptor.idProduct),
		 udev->bus->busnum, udev->devnum);
}

static struct usb_driver usb_hello_driver = {
	.name = "usb_hello",
	.probe = usb_hello_probe,
	.disconnect = usb_hello_disconnect,
	.id_table = usb_hello_table,
};

static int __init usb_hello_init(void)
{
	pr_info("usb_hello: loaded\n");
	return usb_register(&usb_hello_driver);
}

static void __exit usb_hello_exit(void)
{
	usb_deregister(&usb_hello_driver);
	pr_info("usb_hello: unloaded\n");
}

module_init(usb_hello_init);
module_exit(usb_hello_exit);

MODULE_AUTHOR("kplug authors");
MODULE_DESCRIPTION("Hello-world USB driver for QEMU's usb-ccid device (kplug demo)");
MODULE_LICENSE("GPL");
