// SPDX-License-Identifier: GPL-2.0
/*
 * PCI transport: a QEMU ivshmem-plain device whose BAR 2 is a hostclock
 * region (page 0 VMClock, page 1 hostclock's extension).
 *
 * ivshmem has generic ids, so the driver looks before it claims: a device
 * whose BAR 2 is smaller than a region or does not start with the VMClock
 * magic is someone else's, and is left alone without a word.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/io.h>
#include <linux/module.h>
#include <linux/pci.h>

#include "hostclock.h"

#define HOSTCLOCK_IVSHMEM_VENDOR	0x1af4
#define HOSTCLOCK_IVSHMEM_DEVICE	0x1110
#define HOSTCLOCK_IVSHMEM_BAR		2

/* The magic, read through a temporary mapping that claims nothing. */
static bool hostclock_pci_has_magic(resource_size_t start)
{
	const struct vmclock_abi *p = memremap(start, HOSTCLOCK_PAGE_SIZE, MEMREMAP_WB);
	u32 magic;

	if (!p)
		return false;
	magic = le32_to_cpu(READ_ONCE(p->magic));
	memunmap((void *)p);
	return magic == VMCLOCK_MAGIC;
}

static int hostclock_pci_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct device *dev = &pdev->dev;
	struct hostclock_dev *hc;
	void *region;
	resource_size_t start;
	int ret;

	if (!(pci_resource_flags(pdev, HOSTCLOCK_IVSHMEM_BAR) & IORESOURCE_MEM) ||
	    pci_resource_len(pdev, HOSTCLOCK_IVSHMEM_BAR) < HOSTCLOCK_REGION_SIZE)
		return -ENODEV;
	ret = pcim_enable_device(pdev);
	if (ret)
		return ret;
	start = pci_resource_start(pdev, HOSTCLOCK_IVSHMEM_BAR);
	if (!hostclock_pci_has_magic(start)) {
		dev_dbg(dev, "ivshmem BAR 2 is not a hostclock region\n");
		return -ENODEV;
	}

	if (!devm_request_mem_region(dev, start, HOSTCLOCK_REGION_SIZE, KBUILD_MODNAME))
		return -EBUSY;
	/*
	 * Cached, like the RAM behind the BAR. The mapping is writable: the
	 * driver writes only the pairing mailbox in page 1, never page 0.
	 */
	region = devm_memremap(dev, start, HOSTCLOCK_REGION_SIZE, MEMREMAP_WB);
	if (IS_ERR(region))
		return PTR_ERR(region);

	hc = hostclock_dev_create(dev, region, start, HOSTCLOCK_REGION_SIZE,
				  region + HOSTCLOCK_EXT_OFFSET);
	if (IS_ERR(hc))
		return PTR_ERR(hc);
	pci_set_drvdata(pdev, hc);
	return 0;
}

static void hostclock_pci_remove(struct pci_dev *pdev)
{
	hostclock_dev_destroy(pci_get_drvdata(pdev));
}

static const struct pci_device_id hostclock_pci_ids[] = {
	{ PCI_DEVICE(HOSTCLOCK_IVSHMEM_VENDOR, HOSTCLOCK_IVSHMEM_DEVICE) },
	{ }
};
MODULE_DEVICE_TABLE(pci, hostclock_pci_ids);

static struct pci_driver hostclock_pci_driver = {
	.name		= KBUILD_MODNAME,
	.id_table	= hostclock_pci_ids,
	.probe		= hostclock_pci_probe,
	.remove		= hostclock_pci_remove,
};

int hostclock_pci_register(void)
{
	return pci_register_driver(&hostclock_pci_driver);
}

void hostclock_pci_unregister(void)
{
	pci_unregister_driver(&hostclock_pci_driver);
}
