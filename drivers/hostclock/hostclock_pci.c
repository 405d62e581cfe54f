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

static void hostclock_pci_iounmap(void *addr)
{
	iounmap((void __iomem *)addr);
}

/*
 * Page 0, mapped read-only (a stray write faults instead of corrupting the
 * host's page) and cached like the RAM it is.
 */
static const struct vmclock_abi *
hostclock_pci_map_page(struct device *dev, resource_size_t start)
{
	void __iomem *p = ioremap_prot(start, HOSTCLOCK_PAGE_SIZE,
				       pgprot_val(PAGE_KERNEL_RO));

	if (!p || devm_add_action_or_reset(dev, hostclock_pci_iounmap, (void __force *)p))
		return NULL;
	return (const struct vmclock_abi __force *)p;
}

/* The magic, read through a temporary mapping that claims nothing. */
static bool hostclock_pci_has_magic(resource_size_t start)
{
	void __iomem *p = ioremap_prot(start, HOSTCLOCK_PAGE_SIZE,
				       pgprot_val(PAGE_KERNEL_RO));
	u32 magic;

	if (!p)
		return false;
	magic = readl(p + offsetof(struct vmclock_abi, magic));
	iounmap(p);
	return magic == VMCLOCK_MAGIC;
}

static int hostclock_pci_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct device *dev = &pdev->dev;
	const struct vmclock_abi *page;
	struct hostclock_ext *ext;
	struct hostclock_dev *hc;
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
	page = hostclock_pci_map_page(dev, start);
	ext = devm_memremap(dev, start + HOSTCLOCK_EXT_OFFSET, HOSTCLOCK_PAGE_SIZE,
			    MEMREMAP_WB);
	if (!page || IS_ERR(ext))
		return -ENOMEM;

	hc = hostclock_dev_create(dev, page, start, HOSTCLOCK_REGION_SIZE, ext);
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
