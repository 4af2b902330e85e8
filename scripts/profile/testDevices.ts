// test.devices are QEMU -device arguments from a profile, and QEMU runs as root in CI: only device
// definitions from this list, with properties from this list, are accepted. Nothing here names a host
// file, a chardev, a backend object, a drive or firmware (no romfile=, drive=, chardev=, memdev=, loader,
// vfio-pci host=). test/boot/README.md documents the same set; a test keeps them in step.
export const TEST_DEVICE_DRIVERS: readonly string[] = [
  // PCIe topology
  'pcie-root-port', 'ioh3420', 'pci-bridge', 'pcie-pci-bridge', 'x3130-upstream', 'xio3130-downstream',
  // NICs (netdev=hostnet0 only: restricted user networking)
  'e1000', 'e1000e', 'igb', 'rtl8139', 'virtio-net-pci', 'vmxnet3',
  // USB controllers and devices without a host backend
  'ich9-usb-uhci1', 'ich9-usb-uhci2', 'ich9-usb-uhci3', 'ich9-usb-uhci4', 'ich9-usb-uhci5', 'ich9-usb-uhci6',
  'ich9-usb-ehci1', 'ich9-usb-ehci2', 'usb-ehci', 'piix3-usb-uhci', 'piix4-usb-uhci', 'qemu-xhci', 'nec-usb-xhci',
  'usb-kbd', 'usb-mouse', 'usb-tablet', 'usb-hub',
  // display devices (the GPU race: a DRM driver claiming the card before vfio-pci); no host display backend
  'bochs-display', 'virtio-gpu-pci', 'virtio-vga', 'VGA', 'secondary-vga', 'qxl', 'qxl-vga',
  // storage and other controllers with no drive attached, test devices
  'ahci', 'virtio-scsi-pci', 'lsi53c895a', 'megasas', 'ich9-intel-hda', 'intel-hda', 'edu', 'pci-testdev',
]

export const TEST_DEVICE_PROPERTIES: readonly string[] = [
  'id', 'bus', 'addr', 'multifunction', 'chassis', 'slot', 'port', 'mac', 'netdev', 'vectors',
  'masterbus', 'firstport', 'p2', 'p3', 'ports', 'bootindex', 'rombar',
]

const VALUE = /^[A-Za-z0-9_.:-]{1,64}$/

// Problems with one -device argument, or [] when it is an allowed device definition.
export function testDeviceProblems(arg: string): string[] {
  if (!/^[A-Za-z0-9][A-Za-z0-9-]*(,|$)/.test(arg)) return [`${JSON.stringify(arg)}: expected a device driver name first, like e1000e,addr=03.0 (QEMU options such as -object are not device definitions)`]
  if (arg.includes(',,')) return ['",," (an escaped comma) is not accepted in test devices']
  const [driver, ...props] = arg.split(',')
  const problems: string[] = []
  if (!TEST_DEVICE_DRIVERS.includes(driver)) problems.push(`${driver} is not an allowed test device (allowed: ${TEST_DEVICE_DRIVERS.join(', ')})`)
  for (const p of props) {
    const eq = p.indexOf('=')
    const [key, value] = eq < 0 ? [p, undefined] : [p.slice(0, eq), p.slice(eq + 1)]
    if (!TEST_DEVICE_PROPERTIES.includes(key)) problems.push(`property ${key} is not allowed in test devices (allowed: ${TEST_DEVICE_PROPERTIES.join(', ')}): nothing may name a host file, chardev, drive or backend`)
    else if (value === undefined || !VALUE.test(value)) problems.push(`${key}: expected a plain value like ${key}=x (letters, digits, _ . : -)`)
    else if (key === 'netdev' && value !== 'hostnet0') problems.push('netdev: only hostnet0 (restricted user networking) exists in the test machine')
  }
  return problems
}
