// The benchmark's generated host profiles (benchMain bakes 1,000 of them; startupBench times the first).
// Four kinds of host, as in profiles/: ids + preempt, by address, AMD diskless with a key, GPU.
export function profileText(i: number): string {
  const name = `host${String(i).padStart(4, '0')}`
  const hex = (n: number) => n.toString(16).padStart(4, '0')
  switch (i % 4) {
    case 0: return `hostname: ${name}\ncpu: intel\nboot: { kernelOpts: [quiet, rootfstype=ext4] }\nmodules: [tun]\npackages: [libvirt-daemon, qemu-img, qemu-system-x86_64]\nnetwork: { ports: [eth0] }\nservices: { default: [libvirtd, libvirt-guests] }\npassthrough:\n  devices: [{ id: "8086:${hex(0x3a67 + (i % 5))}" }, { id: "8086:3a6c" }]\n  preempt: [igb]\n  allowUnsafeInterrupts: true\n`
    case 1: return `hostname: ${name}\ncpu: intel\nboot: { root: "UUID=3f1c2b9e-5a4d-4c1e-9b7a-${hex(i)}6e8f0a1b" }\npackages: [libvirt-daemon, qemu-system-x86_64]\nservices: { default: [libvirtd] }\npassthrough:\n  devices: [{ address: "0000:0${i % 8}:00.0", id: "8086:10d3" }]\n  preempt: [e1000e]\n`
    case 2: return `hostname: ${name}\ncpu: amd\ninstall: diskless\nalpine: { release: "3.21" }\npackages: [libvirt-daemon]\nservices: { default: [sshd] }\npassthrough:\n  devices: [{ id: "8086:1521" }]\n  preempt: [igb]\nfiles:\n  - { path: /root/.ssh/authorized_keys, content: "ssh-ed25519 AAAA${i} admin", mode: "0600" }\n`
    default: return `hostname: ${name}\ncpu: intel\nalpine: { release: "3.18" }\nmodules: [tun]\npassthrough:\n  devices: [{ id: "10de:13c2" }, { id: "10de:0fbb" }, { id: "1b73:1100" }]\n  preempt: [nouveau, snd_hda_intel, uhci_hcd]\n`
  }
}
