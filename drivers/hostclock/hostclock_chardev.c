// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/hostclockN: page 0 for userspace readers, and the device whose sysfs
 * directory (/sys/class/misc/hostclockN/) holds the instance's status and
 * counters and whose uevents announce disruptions and status changes.
 *
 * mmap gives exactly page 0, read-only: a writable mapping cannot be
 * obtained, not even by mprotect() later. The page is mapped at the first
 * fault, not at mmap(), and every mapping is zapped when the device goes
 * away (unbind, hot-unplug, rmmod): a later touch gets SIGBUS, never
 * whatever a rescan put at that physical address. read() gives a
 * consistent snapshot of the VMClock structure; poll() wakes when a new
 * page generation appears. The instance outlives its device while files
 * are open; they then get -ENODEV.
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

/**
 * struct hostclock_file - an open /dev/hostclockN
 * @hc: its instance, held by a reference
 * @node: in hc->files, under hc->teardown
 * @mapping: the file's address_space, whose mappings teardown zaps
 * @seen_seq: the generation the reader last read
 */
struct hostclock_file {
	struct hostclock_dev *hc;
	struct list_head node;
	struct address_space *mapping;
	u32 seen_seq;
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
	f->mapping = file->f_mapping;
	spin_lock(&hc->lock);
	f->seen_seq = hc->last_seq;
	spin_unlock(&hc->lock);
	down_write(&hc->teardown);
	list_add(&f->node, &hc->files);
	up_write(&hc->teardown);
	file->private_data = f;
	return 0;
}

static int hostclock_release(struct inode *inode, struct file *file)
{
	struct hostclock_file *f = file->private_data;

	down_write(&f->hc->teardown);
	list_del(&f->node);
	up_write(&f->hc->teardown);
	hostclock_dev_put(f->hc);
	kfree(f);
	return 0;
}

/*
 * The VMClock structure as the page holds it, from one consistent copy.
 * The snapshot (up to HOSTCLOCK_READ_BUDGET tries against a busy host)
 * runs preemptible, under the teardown lock only.
 */
static ssize_t hostclock_read(struct file *file, char __user *buf, size_t len,
			      loff_t *pos)
{
	struct hostclock_file *f = file->private_data;
	struct hostclock_dev *hc = f->hc;
	struct hostclock_clock clk;
	struct vmclock_abi raw;
	int ret;

	down_read(&hc->teardown);
	ret = hc->gone ? -ENODEV : hostclock_dev_snapshot(hc, &clk);
	up_read(&hc->teardown);
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
	spin_lock(&hc->lock);
	if (hc->gone)
		mask = EPOLLERR | EPOLLHUP;
	else if (hc->last_seq != f->seen_seq)
		mask = EPOLLIN | EPOLLRDNORM;
	spin_unlock(&hc->lock);
	return mask;
}

/* The page goes in at the first touch, while the device is there. */
static vm_fault_t hostclock_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct hostclock_dev *hc = vma->vm_private_data;
	vm_fault_t ret;

	down_read(&hc->teardown);
	if (hc->gone)
		ret = VM_FAULT_SIGBUS;
	else
		ret = vmf_insert_pfn(vma, vmf->address, hc->page_phys >> PAGE_SHIFT);
	up_read(&hc->teardown);
	return ret;
}

static const struct vm_operations_struct hostclock_vm_ops = {
	.fault = hostclock_fault,
};

static int hostclock_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct hostclock_file *f = file->private_data;
	struct hostclock_dev *hc = f->hc;
	int ret = 0;

	if (vma->vm_pgoff || vma->vm_end - vma->vm_start != PAGE_SIZE)
		return -EINVAL;
	if (vma->vm_flags & VM_WRITE)
		return -EPERM;
	down_read(&hc->teardown);
	if (!hc->page_phys || hc->gone) {
		ret = -ENODEV;
	} else {
		/* no mprotect(PROT_WRITE) later; raw PFNs, never grown or dumped */
		hostclock_vm_flags_clear(vma, VM_MAYWRITE);
		hostclock_vm_flags_set(vma, VM_PFNMAP | VM_IO | VM_DONTEXPAND | VM_DONTDUMP);
		vma->vm_ops = &hostclock_vm_ops;
		vma->vm_private_data = hc;
	}
	up_read(&hc->teardown);
	return ret;
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

/* One KOBJ_CHANGE uevent with the instance's values now. */
static void hostclock_uevent(struct hostclock_dev *hc, const char *event)
{
	char ev[48], status[48], marker[56], gen[56];
	char *envp[5];

	spin_lock(&hc->lock);
	snprintf(ev, sizeof(ev), "HOSTCLOCK_EVENT=%s", event);
	snprintf(status, sizeof(status), "HOSTCLOCK_STATUS=%s",
		 hostclock_state_name(hc->state));
	snprintf(marker, sizeof(marker), "HOSTCLOCK_DISRUPTION_MARKER=%llu",
		 hc->disruption_marker);
	snprintf(gen, sizeof(gen), "HOSTCLOCK_VM_GENERATION=%llu", hc->vm_generation);
	spin_unlock(&hc->lock);
	envp[0] = ev;
	envp[1] = status;
	envp[2] = marker;
	envp[3] = gen;
	envp[4] = NULL;
	kobject_uevent_env(&hc->misc.this_device->kobj, KOBJ_CHANGE, envp);
}

/**
 * hostclock_uevents() - announce what a poll saw, within the rate limit
 * @hc: instance
 * @saw: HOSTCLOCK_SAW_DISRUPTION, _VM_GENERATION and _STATUS seen now
 *
 * One KOBJ_CHANGE uevent per event on /dev/hostclockN, in that order. The
 * variables name the event and carry the values after it, for udev rules:
 * HOSTCLOCK_EVENT ("disruption", "vm_generation", "status"),
 * HOSTCLOCK_STATUS, HOSTCLOCK_DISRUPTION_MARKER, HOSTCLOCK_VM_GENERATION.
 * Events beyond hc->uevent_rs wait (counted in uevents_deferred); a later
 * poll sends each kind once, with the values of that moment. Called from
 * the poller only.
 */
void hostclock_uevents(struct hostclock_dev *hc, unsigned int saw)
{
	static const struct {
		unsigned int saw;
		const char *name;
	} kinds[] = {
		{ HOSTCLOCK_SAW_DISRUPTION, "disruption" },
		{ HOSTCLOCK_SAW_VM_GENERATION, "vm_generation" },
		{ HOSTCLOCK_SAW_STATUS, "status" },
	};
	unsigned int i, deferred = 0;

	if (!hc->misc_registered)
		return;
	hc->uevent_pending |= saw;
	for (i = 0; i < ARRAY_SIZE(kinds); i++) {
		if (!(hc->uevent_pending & kinds[i].saw))
			continue;
		if (!__ratelimit(&hc->uevent_rs)) {
			deferred += !!(saw & kinds[i].saw);
			continue;
		}
		hc->uevent_pending &= ~kinds[i].saw;
		hostclock_uevent(hc, kinds[i].name);
	}
	if (deferred) {
		spin_lock(&hc->lock);
		hc->count.uevents_deferred += deferred;
		spin_unlock(&hc->lock);
	}
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
 * valid until closed and then get -ENODEV (hostclock_chardev_gone()).
 */
void hostclock_chardev_unregister(struct hostclock_dev *hc)
{
	if (!hc->misc_registered)
		return;
	hc->misc_registered = false;
	misc_deregister(&hc->misc);
}

/**
 * hostclock_chardev_gone() - the page is going away: cut off open files
 * @hc: instance, its /dev/hostclockN already unregistered
 *
 * After this, read() gets -ENODEV and every user mapping of the page is
 * zapped; a touch faults and gets SIGBUS. Waits for reads and faults in
 * progress.
 */
void hostclock_chardev_gone(struct hostclock_dev *hc)
{
	struct hostclock_file *f;

	down_write(&hc->teardown);
	spin_lock(&hc->lock);
	hc->gone = true;
	spin_unlock(&hc->lock);
	list_for_each_entry(f, &hc->files, node)
		unmap_mapping_range(f->mapping, 0, 0, 1);
	up_write(&hc->teardown);
}
