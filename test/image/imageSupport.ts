// Shared by the image tests: the stand-in base ISO (built once per cache, then reused), the image profile,
// and image builds into a test's temp folder.
import path from 'node:path'
import { buildStandInMedia, type StandInMedia } from '../../scripts/boot/standInMedia.js'
import { loadProfile } from '../../scripts/hostPipeline.js'
import { buildImage, type ImageOptions, type ImageResult } from '../../scripts/image/imageBuild.js'
import type { LoadedProfile } from '../../scripts/profile/profileLoad.js'
import { TEST_CACHE } from '../testSupport.js'
import { packagePath } from '../../scripts/shared/packagePaths.js'

export const IMAGE_PROFILE = packagePath('test', 'image', 'profiles', 'vmhost.yaml')

export function standIn(): Promise<StandInMedia> {
  return buildStandInMedia(TEST_CACHE)
}

export async function vmhost(): Promise<LoadedProfile> {
  return loadProfile(IMAGE_PROFILE)
}

export async function makeImage(dir: string, name: string, extra: Partial<ImageOptions> = {}): Promise<ImageResult> {
  const media = await standIn()
  return buildImage({ loaded: extra.loaded ?? (await vmhost()), base: media.iso, output: path.join(dir, `${name}.iso`), ...extra })
}
