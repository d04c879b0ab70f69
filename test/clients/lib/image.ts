/**
 * One-layer images built offline from Debian's busybox-static: bin/busybox,
 * a symlink per applet, etc/passwd and etc/group (root, nobody, tester 1000).
 * The test image has CMD ["/bin/sh"]; the pause image (the CRI tests' pod
 * sandbox image) sleeps until SIGTERM. Written as an OCI image archive (ctr
 * images import, podman load) and as a docker-archive (docker load).
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { makeBusyboxRootfs } from '../../rootfs.js';

export const IMAGE_NAME = 'localhost/runts-busybox:test';
export const IMAGE_REF_CONTAINERD = 'docker.io/library/runts-busybox:test';
export const PAUSE_IMAGE_NAME = 'localhost/runts-pause:test';
export const PAUSE_IMAGE_REF_CONTAINERD = 'docker.io/library/runts-pause:test';

export interface ImageArchives {
  oci: string;
  docker: string;
}

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

export function buildImages(dir: string): ImageArchives {
  const rootfs = path.join(dir, 'rootfs');
  makeBusyboxRootfs(rootfs);
  fs.appendFileSync(path.join(rootfs, 'etc/passwd'), 'tester:x:1000:1000:tester:/home/tester:/bin/sh\n');
  fs.appendFileSync(path.join(rootfs, 'etc/group'), 'tester:x:1000:\n');
  fs.mkdirSync(path.join(rootfs, 'home/tester'), { recursive: true });
  fs.chownSync(path.join(rootfs, 'home/tester'), 1000, 1000);
  fs.mkdirSync(path.join(rootfs, 'etc/notexec'), { recursive: true });
  fs.writeFileSync(path.join(rootfs, 'etc/notexec/script'), '#!/bin/sh\necho should not run\n', {
    mode: 0o644,
  });
  return writeImage(dir, rootfs, IMAGE_NAME, IMAGE_REF_CONTAINERD, { Cmd: ['/bin/sh'] });
}

/**
 * The pod sandbox ("pause") image: busybox whose entry point, PID 1 of the
 * pod, waits for SIGTERM (a PID 1 ignores signals it has no handler for).
 */
export function buildPauseImage(dir: string): ImageArchives {
  const rootfs = path.join(dir, 'rootfs');
  makeBusyboxRootfs(rootfs);
  return writeImage(dir, rootfs, PAUSE_IMAGE_NAME, PAUSE_IMAGE_REF_CONTAINERD, {
    Entrypoint: ['/bin/sh', '-c', 'trap "exit 0" TERM INT; while :; do sleep 3600 & wait $!; done'],
  });
}

/** Pack `rootfs` as one layer, with `cfg` (Cmd, Entrypoint) in the image config; `dir` holds the archives. */
function writeImage(
  dir: string,
  rootfs: string,
  name: string,
  ref: string,
  cfg: Record<string, string[]>,
): ImageArchives {
  const entries = fs.readdirSync(rootfs).sort();

  const layerTar = path.join(dir, 'layer.tar');
  execFileSync('tar', [
    '--create',
    '--file',
    layerTar,
    '--directory',
    rootfs,
    '--sort=name',
    '--numeric-owner',
    '--mtime=2024-01-01 00:00:00Z',
    '--format=gnu',
    ...entries,
  ]);
  const layer = fs.readFileSync(layerTar);
  const layerDigest = sha256(layer);

  const created = '2024-01-01T00:00:00Z';
  const config = Buffer.from(
    JSON.stringify({
      created,
      architecture: 'amd64',
      os: 'linux',
      config: {
        Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
        ...cfg,
      },
      rootfs: { type: 'layers', diff_ids: [`sha256:${layerDigest}`] },
      history: [{ created, created_by: 'runts client tests: busybox-static' }],
    }),
  );
  const configDigest = sha256(config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: `sha256:${configDigest}`,
        size: config.length,
      },
      layers: [
        {
          mediaType: 'application/vnd.oci.image.layer.v1.tar',
          digest: `sha256:${layerDigest}`,
          size: layer.length,
        },
      ],
    }),
  );
  const manifestDigest = sha256(manifest);

  // OCI image layout
  const oci = path.join(dir, 'oci');
  const blobs = path.join(oci, 'blobs', 'sha256');
  fs.mkdirSync(blobs, { recursive: true });
  fs.copyFileSync(layerTar, path.join(blobs, layerDigest));
  fs.writeFileSync(path.join(blobs, configDigest), config);
  fs.writeFileSync(path.join(blobs, manifestDigest), manifest);
  fs.writeFileSync(path.join(oci, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  fs.writeFileSync(
    path.join(oci, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: `sha256:${manifestDigest}`,
          size: manifest.length,
          platform: { architecture: 'amd64', os: 'linux' },
          annotations: {
            'io.containerd.image.name': ref,
            'org.opencontainers.image.ref.name': name,
          },
        },
      ],
    }),
  );
  const ociTar = path.join(dir, 'image-oci.tar');
  execFileSync('tar', [
    '--create',
    '--file',
    ociTar,
    '--directory',
    oci,
    'oci-layout',
    'index.json',
    'blobs',
  ]);

  // docker-archive (docker save's format): manifest.json names config and layers
  const dock = path.join(dir, 'docker');
  fs.mkdirSync(path.join(dock, layerDigest), { recursive: true });
  fs.copyFileSync(layerTar, path.join(dock, layerDigest, 'layer.tar'));
  fs.writeFileSync(path.join(dock, `${configDigest}.json`), config);
  fs.writeFileSync(
    path.join(dock, 'manifest.json'),
    JSON.stringify([
      { Config: `${configDigest}.json`, RepoTags: [name], Layers: [`${layerDigest}/layer.tar`] },
    ]),
  );
  const dockerTar = path.join(dir, 'image-docker.tar');
  execFileSync('tar', [
    '--create',
    '--file',
    dockerTar,
    '--directory',
    dock,
    'manifest.json',
    `${configDigest}.json`,
    layerDigest,
  ]);

  for (const d of [rootfs, oci, dock]) fs.rmSync(d, { recursive: true, force: true });
  fs.rmSync(layerTar);
  return { oci: ociTar, docker: dockerTar };
}
