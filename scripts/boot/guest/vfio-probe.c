/* vfio-probe: proves in the guest that a VMM could use a passthrough group.
 * Usage: vfio-probe GROUP BDF [BDF...]
 * Sequence (qemu-testing.md §7): container -> API version -> TYPE1v2 extension -> group -> VIABLE ->
 * SET_CONTAINER -> SET_IOMMU(TYPE1v2) -> MAP_DMA 1 MiB -> GET_DEVICE_FD per BDF -> DEVICE_GET_INFO ->
 * config space read through the region -> UNMAP_DMA.
 * Prints one line `VFIOPROBE OK group=G ...` or `VFIOPROBE FAIL group=G <reason>`; exit status 0 only on OK. */
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

static const char *group;

static int fail(const char *what) {
  printf("VFIOPROBE FAIL group=%s %s (%s)\n", group, what, errno ? strerror(errno) : "-");
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: vfio-probe GROUP BDF...\n"); return 2; }
  group = argv[1];
  errno = 0;
  int container = open("/dev/vfio/vfio", O_RDWR);
  if (container < 0) return fail("open /dev/vfio/vfio");
  int api = ioctl(container, VFIO_GET_API_VERSION);
  if (api != VFIO_API_VERSION) return fail("unknown API version");
  errno = 0;
  if (ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) != 1)
    return fail("no TYPE1v2 extension (is vfio_iommu_type1 loaded?)");
  char path[64];
  snprintf(path, sizeof path, "/dev/vfio/%s", group);
  int g = open(path, O_RDWR);
  if (g < 0) return fail("open group");
  struct vfio_group_status st = {.argsz = sizeof st};
  if (ioctl(g, VFIO_GROUP_GET_STATUS, &st)) return fail("GROUP_GET_STATUS");
  errno = 0;
  if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE)) return fail("group not viable (a device in it is bound to a host driver)");
  if (ioctl(g, VFIO_GROUP_SET_CONTAINER, &container)) return fail("GROUP_SET_CONTAINER");
  if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)) return fail("SET_IOMMU TYPE1v2");
  size_t len = 1 << 20;
  void *buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (buf == MAP_FAILED) return fail("mmap");
  struct vfio_iommu_type1_dma_map map = {.argsz = sizeof map, .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
                                         .vaddr = (uintptr_t)buf, .iova = 0, .size = len};
  if (ioctl(container, VFIO_IOMMU_MAP_DMA, &map)) return fail("IOMMU_MAP_DMA");
  char devs[512] = "";
  for (int i = 2; i < argc; i++) {
    int dev = ioctl(g, VFIO_GROUP_GET_DEVICE_FD, argv[i]);
    if (dev < 0) { snprintf(path, sizeof path, "GROUP_GET_DEVICE_FD %s", argv[i]); return fail(path); }
    struct vfio_device_info info = {.argsz = sizeof info};
    if (ioctl(dev, VFIO_DEVICE_GET_INFO, &info)) return fail("DEVICE_GET_INFO");
    struct vfio_region_info reg = {.argsz = sizeof reg, .index = VFIO_PCI_CONFIG_REGION_INDEX};
    if (ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &reg)) return fail("GET_REGION_INFO config");
    uint16_t id[2];
    if (pread(dev, id, sizeof id, reg.offset) != sizeof id) return fail("config space read");
    size_t n = strlen(devs);
    snprintf(devs + n, sizeof devs - n, " dev=%s config=%04x:%04x regions=%u irqs=%u", argv[i], id[0], id[1],
             info.num_regions, info.num_irqs);
    close(dev);
  }
  struct vfio_iommu_type1_dma_unmap unmap = {.argsz = sizeof unmap, .iova = 0, .size = len};
  if (ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap)) return fail("IOMMU_UNMAP_DMA");
  printf("VFIOPROBE OK group=%s api=%d%s dma_map+unmap=ok\n", group, api, devs);
  return 0;
}
