// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/hostclockN: page 0 for userspace readers, and the device whose sysfs
 * directory (/sys/class/misc/hostclockN/) holds the instance's status and
 * counters and whose uevents announce disruptions and status changes.
 *
 * mmap gives exactly page 0, read-only: a writable mapping cannot be
 * obtained, not even by mprotect() later. read() gives a consistent
 * snapshot of the VMClock structure; poll() wakes when a new page
 * generation appears. The instance outlives its device while files are
 * open; they then get -ENODEV.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/tsc.h>

#include "hostclock.h"
#include "hostclock_compat.h"

struct hostclock_file {
	struct hostclock_dev *hc;
	u32 seen_seq;		/* the generation the reader last read */
};

static int hostclock_open(struct inode *inode, struct file *file)
{
	struct miscdevice *misc = file->private_data;
	struct hostclock_dev *hc = container_of(misc, struct hostclock_dev, misc);
	struct hostclock_file *f;

	if (file->f_mode & FMODE_WRITE)
		return -EPERM;
	f = kzalloc(sizeof(*f), GFP_KERNEL);
	if (!f)
		return -ENOMEM;
	kref_get(&hc->ref);
	f->hc = hc;
	spin_lock_bh(&hc->lock);
	f->seen_seq = hc->last_seq;
	spin_unlock_bh(&hc->lock);
	file->private_data = f;
	return 0;
}

static int hostclock_release(struct inode *inode, struct file *file)
{
	struct hostclock_file *f = file->private_data;

	hostclock_dev_put(f->hc);
	kfree(f);
	return 0;
}

/* The VMClock structure as the page holds it, from one consistent copy. */
static ssize_t hostclock_read(struct file *file, char __user *buf, size_t len,
			      loff_t *pos)
{
	struct hostclock_file *f = file->private_data;
	struct hostclock_dev *hc = f->hc;
	struct hostclock_clock clk;
	struct vmclock_abi raw;
	int ret;

	spin_lock_bh(&hc->lock);
	ret = hc->gone ? -ENODEV : hostclock_dev_snapshot(hc, &clk);
	spin_unlock_bh(&hc->lock);
	if (ret)
		return ret;
	f->seen_seq = clk.seq_count;
	hostclock_clock_encode(&clk, &raw);
	return simple_read_from_buffer(buf, len, pos, &raw, sizeof(raw));
}

static __poll_t hostclock_poll(struct file *file, poll_table *wait)
{
	struct hostclock_file *f = file->private_data;
	struct hostclock_dev *hc = f->hc;
	__poll_t mask = 0;

	poll_wait(file, &hc->wait, wait);
	spin_lock_bh(&hc->lock);
	if (hc->gone)
		mask = EPOLLERR | EPOLLHUP;
	else if (hc->last_seq != f->seen_seq)
		mask = EPOLLIN | EPOLLRDNORM;
	spin_unlock_bh(&hc->lock);
	return mask;
}

static int hostclock_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct hostclock_file *f = file->private_data;
	struct hostclock_dev *hc = f->hc;

	if (vma->vm_pgoff || vma->vm_end - vma->vm_start != PAGE_SIZE)
		return -EINVAL;
	if (vma->vm_flags & VM_WRITE)
		return -EPERM;
	if (!hc->page_phys || READ_ONCE(hc->gone))
		return -ENODEV;
	/* no mprotect(PROT_WRITE) later either */
	hostclock_vm_flags_clear(vma, VM_MAYWRITE);
	return io_remap_pfn_range(vma, vma->vm_start, hc->page_phys >> PAGE_SHIFT,
				  PAGE_SIZE, vma->vm_page_prot);
}

static const struct file_operations hostclock_fops = {
	.owner		= THIS_MODULE,
	.open		= hostclock_open,
	.release	= hostclock_release,
	.read		= hostclock_read,
	.poll		= hostclock_poll,
	.mmap		= hostclock_mmap,
	.llseek		= default_llseek,
};

/**
 * hostclock_uevent() - a KOBJ_CHANGE uevent on /dev/hostclockN
 * @hc: instance
 * @event: "disruption", "vm_generation" or "status"
 *
 * The variables name the event and carry the values after it, for udev
 * rules: HOSTCLOCK_EVENT, HOSTCLOCK_STATUS, HOSTCLOCK_DISRUPTION_MARKER,
 * HOSTCLOCK_VM_GENERATION.
 */
void hostclock_uevent(struct hostclock_dev *hc, const char *event)
{
	char ev[48], status[48], marker[56], gen[56];
	char *envp[5];

	if (!hc->misc_registered)
		return;
	spin_lock_bh(&hc->lock);
	snprintf(ev, sizeof(ev), "HOSTCLOCK_EVENT=%s", event);
	snprintf(status, sizeof(status), "HOSTCLOCK_STATUS=%s",
		 hostclock_state_name(hc->state));
	snprintf(marker, sizeof(marker), "HOSTCLOCK_DISRUPTION_MARKER=%llu",
		 hc->disruption_marker);
	snprintf(gen, sizeof(gen), "HOSTCLOCK_VM_GENERATION=%llu", hc->vm_generation);
	spin_unlock_bh(&hc->lock);
	envp[0] = ev;
	envp[1] = status;
	envp[2] = marker;
	envp[3] = gen;
	envp[4] = NULL;
	kobject_uevent_env(&hc->misc.this_device->kobj, KOBJ_CHANGE, envp);
}

/**
 * hostclock_chardev_register() - create /dev/hostclockN and its sysfs files
 * @hc: instance
 *
 * Return: 0 or a negative errno.
 */
int hostclock_chardev_register(struct hostclock_dev *hc)
{
	int ret;

	hc->misc.minor = MISC_DYNAMIC_MINOR;
	hc->misc.name = hc->name;
	hc->misc.fops = &hostclock_fops;
	hc->misc.parent = hc->dev;
	hc->misc.groups = hostclock_groups;
	hc->misc.mode = 0444;
	ret = misc_register(&hc->misc);
	if (ret) {
		dev_err(hc->dev, "%s: /dev/%s: %d\n", hc->name, hc->name, ret);
		return ret;
	}
	hc->misc_registered = true;
	return 0;
}

/**
 * hostclock_chardev_unregister() - remove /dev/hostclockN
 * @hc: instance
 *
 * No new opens and no sysfs reads after this; files already open stay
 * valid until closed and then get -ENODEV.
 */
void hostclock_chardev_unregister(struct hostclock_dev *hc)
{
	if (!hc->misc_registered)
		return;
	hc->misc_registered = false;
	misc_deregister(&hc->misc);
}
