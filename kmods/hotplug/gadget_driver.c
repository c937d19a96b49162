// SPDX-License-Identifier: GPL-2.0
/*
 * gadget_driver: the driver for gadget_sim's pretend devices. Its device table names
 * "kplug_gadget"; MODULE_DEVICE_TABLE turns that into the alias platform:kplug_gadget,
 * which depmod writes to modules.alias. When a gadget appears, its uevent carries
 * exactly that MODALIAS, so an auto-loader finds and loads this module, and the kernel
 * binds the driver to the device and calls probe().
 */
#include <linux/mod_devicetable.h>
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/version.h>

static const struct platform_device_id gadget_ids[] = {
	{ .name = "kplug_gadget" },
	{ }
};
MODULE_DEVICE_TABLE(platform, gadget_ids);

static int gadget_probe(struct platform_device *pdev)
{
	dev_info(&pdev->dev, "gadget_driver: probe: bound to %s\n", dev_name(&pdev->dev));
	return 0;
}

/* Since Linux 6.11 remove() returns nothing; before, an int that was ignored. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 11, 0)
static void gadget_remove(struct platform_device *pdev)
{
	dev_info(&pdev->dev, "gadget_driver: remove: %s is gone\n", dev_name(&pdev->dev));
}
#else
static int gadget_remove(struct platform_device *pdev)
{
	dev_info(&pdev->dev, "gadget_driver: remove: %s is gone\n", dev_name(&pdev->dev));
	return 0;
}
#endif

static struct platform_driver gadget_driver = {
	.driver = { .name = "gadget_driver" },
	.probe = gadget_probe,
	.remove = gadget_remove,
	.id_table = gadget_ids,
};

static int __init gadget_driver_init(void)
{
	pr_info("gadget_driver: loaded\n");
	return platform_driver_register(&gadget_driver);
}

static void __exit gadget_driver_exit(void)
{
	platform_driver_unregister(&gadget_driver);
	pr_info("gadget_driver: unloaded\n");
}

module_init(gadget_driver_init);
module_exit(gadget_driver_exit);

MODULE_AUTHOR("kplug authors");
MODULE_DESCRIPTION("Driver for gadget_sim's kplug_gadget devices (kplug tutorial)");
MODULE_LICENSE("GPL");
