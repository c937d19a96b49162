// SPDX-License-Identifier: GPL-2.0
/*
 * gadget_sim: plugs and unplugs pretend devices, no hardware needed. Its `devices`
 * parameter is the number of "kplug_gadget" platform devices present (0 to 8): writing
 * it creates or removes devices, and for each the kernel emits an `add` or `remove`
 * uevent with MODALIAS=platform:kplug_gadget. That alias is declared by gadget_driver,
 * so a module auto-loader (kplugd, or udevd) loads gadget_driver when the first gadget
 * appears; kplugd unloads it again after the last one is gone.
 *
 *   echo 1 > /sys/module/gadget_sim/parameters/devices   # plug one gadget
 *   echo 0 > /sys/module/gadget_sim/parameters/devices   # unplug it
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/platform_device.h>

#define GADGET_MAX 8

static struct platform_device *gadgets[GADGET_MAX];
static int present;		/* devices registered now */
static int wanted;		/* the parameter's value */
static bool ready;		/* init has run: the parameter may create devices */
static DEFINE_MUTEX(lock);

/* Make `present` equal to `wanted`: plug new gadgets or unplug the newest ones. */
static int sync_gadgets(void)
{
	while (present < wanted) {
		struct platform_device *pdev =
			platform_device_register_simple("kplug_gadget", present, NULL, 0);

		if (IS_ERR(pdev)) {
			wanted = present;
			return PTR_ERR(pdev);
		}
		gadgets[present++] = pdev;
		pr_info("gadget_sim: plugged %s\n", dev_name(&pdev->dev));
	}
	while (present > wanted) {
		struct platform_device *pdev = gadgets[--present];

		pr_info("gadget_sim: unplugging %s\n", dev_name(&pdev->dev));
		platform_device_unregister(pdev);
		gadgets[present] = NULL;
	}
	return 0;
}

static int devices_set(const char *val, const struct kernel_param *kp)
{
	int n, err = kstrtoint(val, 0, &n);

	if (err)
		return err;
	if (n < 0 || n > GADGET_MAX) {
		pr_err("gadget_sim: devices=%d is out of range: give 0 to %d\n", n, GADGET_MAX);
		return -ERANGE;
	}
	mutex_lock(&lock);
	wanted = n;
	/* At insmod time parameters are set before init; init plugs them. */
	err = ready ? sync_gadgets() : 0;
	mutex_unlock(&lock);
	return err;
}

static int devices_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%d\n", present);
}

static const struct kernel_param_ops devices_ops = {
	.set = devices_set,
	.get = devices_get,
};
module_param_cb(devices, &devices_ops, NULL, 0644);
MODULE_PARM_DESC(devices, "how many kplug_gadget devices are plugged in, 0 to 8 (default: 0)");

static int __init gadget_sim_init(void)
{
	int err;

	mutex_lock(&lock);
	ready = true;
	err = sync_gadgets();
	mutex_unlock(&lock);
	pr_info("gadget_sim: loaded, %d gadget(s) plugged\n", present);
	return err;
}

static void __exit gadget_sim_exit(void)
{
	mutex_lock(&lock);
	wanted = 0;
	sync_gadgets();
	mutex_unlock(&lock);
	pr_info("gadget_sim: unloaded\n");
}

module_init(gadget_sim_init);
module_exit(gadget_sim_exit);

MODULE_AUTHOR("kplug authors");
MODULE_DESCRIPTION("Plugs and unplugs pretend kplug_gadget devices on request (kplug tutorial)");
MODULE_LICENSE("GPL");
