// SPDX-License-Identifier: GPL-2.0
/*
 * ACPI transport: a VMCLOCK device (_HID AMZNC10C, _CID VMCLOCK), as QEMU's
 * "-device vmclock" and some clouds offer. Its memory resource holds a
 * VMClock page and nothing else: no extension page, so no pairing and no
 * staleness. QEMU's device leaves counter_id invalid; the instance then
 * reports "no-clock" and still follows disruption_marker and
 * vm_generation_counter. A device notification polls the page at once.
 *
 * From 6.13 the kernel has its own driver for these devices, ptp_vmclock.
 * Where the kernel is built with it, hostclock leaves them to it: it is
 * the driver the kernel's maintainers keep in step with the ABI, both
 * match the same modalias (so which one binds would otherwise depend on
 * load order), and one device served by two drivers would count each
 * disruption twice. acpi_override_ptp_vmclock=1 takes them anyway, for a
 * host whose ACPI page carries a clock hostclock's clocksource should use.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/acpi.h>
#include <linux/io.h>
#include <linux/module.h>
#include <linux/platform_device.h>

#include "hostclock.h"
#include "hostclock_compat.h"

static bool hostclock_acpi_override;
module_param_named(acpi_override_ptp_vmclock, hostclock_acpi_override, bool, 0444);
MODULE_PARM_DESC(acpi_override_ptp_vmclock,
		 "bind ACPI VMCLOCK devices also where the kernel has ptp_vmclock (default off: leave them to it)");

static void hostclock_acpi_notify(acpi_handle handle, u32 event, void *data)
{
	struct hostclock_dev *hc = data;

	mod_delayed_work(system_wq, &hc->poll, 0);
}

static int hostclock_acpi_probe(struct platform_device *pdev)
{
	struct device *dev = &pdev->dev;
	acpi_handle handle = ACPI_HANDLE(dev);
	struct hostclock_dev *hc;
	struct resource *res;
	void *p;
	acpi_status status;

	if (IS_ENABLED(CONFIG_PTP_1588_CLOCK_VMCLOCK) && !hostclock_acpi_override) {
		dev_info(dev, "left to the kernel's ptp_vmclock driver\n");
		return -ENODEV;
	}

	res = platform_get_resource(pdev, IORESOURCE_MEM, 0);
	if (!res || resource_size(res) < sizeof(struct vmclock_abi)) {
		dev_err(dev, "VMCLOCK device without a page-sized memory resource\n");
		return -ENODEV;
	}
	/*
	 * Cached, like the memory it is. The mapping is writable (a kernel
	 * mapping of this range cannot be made read-only without changing
	 * the direct map); the driver never writes it.
	 */
	p = devm_memremap(dev, res->start, resource_size(res), MEMREMAP_WB);
	if (IS_ERR(p))
		return PTR_ERR(p);

	/* mmap of /dev/hostclockN only for a whole page: nothing else exposed */
	hc = hostclock_dev_create(dev, p,
				  PAGE_ALIGNED(res->start) && resource_size(res) >= PAGE_SIZE ?
				  res->start : 0, resource_size(res), NULL);
	if (IS_ERR(hc))
		return PTR_ERR(hc);
	if (handle) {
		status = acpi_install_notify_handler(handle, ACPI_DEVICE_NOTIFY,
						     hostclock_acpi_notify, hc);
		if (ACPI_FAILURE(status))
			dev_dbg(dev, "no ACPI notification; polling only\n");
	}
	platform_set_drvdata(pdev, hc);
	return 0;
}

static void hostclock_acpi_remove(struct platform_device *pdev)
{
	struct hostclock_dev *hc = platform_get_drvdata(pdev);
	acpi_handle handle = ACPI_HANDLE(&pdev->dev);

	if (handle)
		acpi_remove_notify_handler(handle, ACPI_DEVICE_NOTIFY,
					   hostclock_acpi_notify);
	hostclock_dev_destroy(hc);
}

HOSTCLOCK_PLATFORM_REMOVE_WRAPPER(hostclock_acpi_remove)

static const struct acpi_device_id hostclock_acpi_ids[] = {
	{ "AMZNC10C", 0 },
	{ "VMCLOCK", 0 },
	{ }
};
MODULE_DEVICE_TABLE(acpi, hostclock_acpi_ids);

static struct platform_driver hostclock_acpi_driver = {
	.probe = hostclock_acpi_probe,
	HOSTCLOCK_PLATFORM_REMOVE(hostclock_acpi_remove),
	.driver = {
		.name = "hostclock_acpi",
		.acpi_match_table = hostclock_acpi_ids,
	},
};

int hostclock_acpi_register(void)
{
	return platform_driver_register(&hostclock_acpi_driver);
}

void hostclock_acpi_unregister(void)
{
	platform_driver_unregister(&hostclock_acpi_driver);
}
