// SPDX-License-Identifier: GPL-2.0
/*
 * holdme: a character device, /dev/holdme, that pins its module while it is open.
 * Setting `.owner = THIS_MODULE` in the file operations makes the kernel take a module
 * reference on every open() and drop it on the last close(): /proc/modules shows the
 * count, and rmmod is refused with "Module holdme is in use" until the file is closed.
 */
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>

static const char message[] = "holdme: while this file is open, rmmod holdme is refused\n";

static int holdme_open(struct inode *inode, struct file *file)
{
	/* The reference was taken before open() runs, so the count includes this opener. */
	pr_info("holdme: opened by pid %d, module refcount now %d\n", task_pid_nr(current),
		module_refcount(THIS_MODULE));
	return 0;
}

static int holdme_release(struct inode *inode, struct file *file)
{
	/* The reference is dropped after release() returns. */
	pr_info("holdme: closed, module refcount drops to %d\n", module_refcount(THIS_MODULE) - 1);
	return 0;
}

static ssize_t holdme_read(struct file *file, char __user *buf, size_t len, loff_t *pos)
{
	return simple_read_from_buffer(buf, len, pos, message, sizeof(message) - 1);
}

static const struct file_operations holdme_fops = {
	.owner = THIS_MODULE,
	.open = holdme_open,
	.release = holdme_release,
	.read = holdme_read,
	.llseek = default_llseek,
};

static struct miscdevice holdme_device = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "holdme",
	.fops = &holdme_fops,
	.mode = 0444,
};

static int __init holdme_init(void)
{
	int err = misc_register(&holdme_device);

	if (err)
		return err;
	pr_info("holdme: loaded, open /dev/holdme to hold a reference\n");
	return 0;
}

static void __exit holdme_exit(void)
{
	misc_deregister(&holdme_device);
	pr_info("holdme: unloaded\n");
}

module_init(holdme_init);
module_exit(holdme_exit);

MODULE_AUTHOR("kplug authors");
MODULE_DESCRIPTION("A device file that holds a module reference while open (kplug tutorial)");
MODULE_LICENSE("GPL");
