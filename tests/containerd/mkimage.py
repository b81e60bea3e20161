#!/usr/bin/env python3
"""Builds a small OCI image for the container tests, deterministically.

    mkimage.py OUT NAME [options]

OUT is an OCI image-layout tar (`ctr image import` takes it), or with
--format docker a `docker save` archive, or with --format oci-dir a
directory. NAME is the image reference, e.g. docker.io/hoist/test:latest.

Contents:
  --file SRC:DEST[:MODE]    a file in the image's tar layer (mode octal, 644)
  --symlink DEST=TARGET     a symbolic link in the tar layer
  --wasm-layer FILE         the module as a layer of its own (media type
                            --wasm-media-type, default the CNCF Wasm type)
  --gzip                    gzip the tar layer
Config:
  --entrypoint ARG ... / --cmd ARG ... (repeat for each element)
  --env NAME=VALUE / --workdir DIR / --platform OS/ARCH (default wasip1/wasm)
  --compat                  annotate module.wasm.image/variant=compat (the
                            manifest, its index entry, and a config label)
  --extra-platform OS/ARCH  also put an (empty) image for that platform in
                            the index, making it a multi-platform index
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import tarfile

WASM_LAYER = "application/vnd.wasm.content.layer.v1+wasm"
TAR_LAYER = "application/vnd.oci.image.layer.v1.tar"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
INDEX = "application/vnd.oci.image.index.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
COMPAT = {"module.wasm.image/variant": "compat"}


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def tar_layer(files, symlinks):
    """An uncompressed tar of the files and links, parents first."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        dirs = set()

        def parents(dest):
            parts = dest.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                d = "/".join(parts[:i])
                if d and d not in dirs:
                    dirs.add(d)
                    info = tarfile.TarInfo(d)
                    info.type = tarfile.DIRTYPE
                    info.mode = 0o755
                    tar.addfile(info)

        for src, dest, mode in files:
            parents(dest)
            with open(src, "rb") as f:
                data = f.read()
            info = tarfile.TarInfo(dest)
            info.size = len(data)
            info.mode = mode
            tar.addfile(info, io.BytesIO(data))
        for dest, target in symlinks:
            parents(dest)
            info = tarfile.TarInfo(dest)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            info.mode = 0o777
            tar.addfile(info)
    return buf.getvalue()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("name")
    ap.add_argument("--format", choices=["oci", "docker", "oci-dir"], default="oci")
    ap.add_argument("--file", action="append", default=[])
    ap.add_argument("--symlink", action="append", default=[])
    ap.add_argument("--wasm-layer")
    ap.add_argument("--wasm-media-type", default=WASM_LAYER)
    ap.add_argument("--gzip", action="store_true")
    ap.add_argument("--entrypoint", action="append", default=[])
    ap.add_argument("--cmd", action="append", default=[])
    ap.add_argument("--env", action="append", default=[])
    ap.add_argument("--workdir", default="/")
    ap.add_argument("--platform", default="wasip1/wasm")
    ap.add_argument("--compat", action="store_true")
    ap.add_argument("--extra-platform", action="append", default=[])
    a = ap.parse_args()

    blobs = {}

    def blob(data):
        digest = sha256(data)
        blobs[digest] = data
        return "sha256:" + digest

    files = []
    for spec in a.file:
        parts = spec.split(":")
        files.append((parts[0], parts[1].lstrip("/"), int(parts[2], 8) if len(parts) > 2 else 0o644))
    symlinks = [tuple(s.split("=", 1)) for s in a.symlink]
    symlinks = [(d.lstrip("/"), t) for d, t in symlinks]

    layers, diff_ids = [], []
    if files or symlinks:
        tar = tar_layer(files, symlinks)
        diff_ids.append("sha256:" + sha256(tar))
        media = TAR_LAYER
        if a.gzip:
            tar = gzip.compress(tar, mtime=0)
            media += "+gzip"
        layers.append({"mediaType": media, "digest": blob(tar), "size": len(tar)})
    if a.wasm_layer:
        with open(a.wasm_layer, "rb") as f:
            wasm = f.read()
        # No diff_id: the module is not a file system layer (runwasi's
        # oci-tar-builder leaves it out too; containerd 1.7 expects that).
        layers.append({"mediaType": a.wasm_media_type, "digest": blob(wasm), "size": len(wasm)})

    def image(platform, layers, diff_ids, with_config):
        os_, arch = platform.split("/")
        config = {
            "architecture": arch,
            "os": os_,
            "created": "1970-01-01T00:00:00Z",
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "config": {},
        }
        if with_config:
            c = config["config"]
            if a.entrypoint:
                c["Entrypoint"] = a.entrypoint
            if a.cmd:
                c["Cmd"] = a.cmd
            if a.env:
                c["Env"] = a.env
            c["WorkingDir"] = a.workdir
            if a.compat:
                c["Labels"] = dict(COMPAT)
        config_bytes = json.dumps(config, sort_keys=True).encode()
        manifest = {
            "schemaVersion": 2,
            "mediaType": MANIFEST,
            "config": {"mediaType": CONFIG, "digest": blob(config_bytes), "size": len(config_bytes)},
            "layers": layers,
        }
        if with_config and a.compat:
            manifest["annotations"] = dict(COMPAT)
        manifest_bytes = json.dumps(manifest, sort_keys=True).encode()
        entry = {
            "mediaType": MANIFEST,
            "digest": blob(manifest_bytes),
            "size": len(manifest_bytes),
            "platform": {"architecture": arch, "os": os_},
            "annotations": {
                "io.containerd.image.name": a.name,
                "org.opencontainers.image.ref.name": a.name.rsplit(":", 1)[-1],
            },
        }
        if with_config and a.compat:
            entry["annotations"].update(COMPAT)
        return entry, config_bytes

    main_entry, main_config = image(a.platform, layers, diff_ids, True)
    manifests = [main_entry]
    for platform in a.extra_platform:
        manifests.append(image(platform, [], [], False)[0])
    index = {"schemaVersion": 2, "mediaType": INDEX, "manifests": manifests}

    outputs = {}
    if a.format == "docker":
        if a.wasm_layer or a.extra_platform:
            ap.error("a docker archive holds one image of tar layers")
        config_name = sha256(main_config) + ".json"
        outputs[config_name] = main_config
        layer_names = []
        for layer in layers:
            name = layer["digest"].split(":")[1] + "/layer.tar"
            data = blobs[layer["digest"].split(":")[1]]
            if a.gzip:
                data = gzip.decompress(data)
            outputs[name] = data
            layer_names.append(name)
        outputs["manifest.json"] = json.dumps(
            [{"Config": config_name, "RepoTags": [a.name], "Layers": layer_names}]
        ).encode()
    else:
        outputs["oci-layout"] = b'{"imageLayoutVersion":"1.0.0"}'
        outputs["index.json"] = json.dumps(index, sort_keys=True).encode()
        for digest, data in blobs.items():
            outputs["blobs/sha256/" + digest] = data

    if a.format == "oci-dir":
        for name, data in sorted(outputs.items()):
            path = os.path.join(a.out, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)
    else:
        with tarfile.open(a.out, "w", format=tarfile.PAX_FORMAT) as tar:
            for name, data in sorted(outputs.items()):
                info = tarfile.TarInfo(name)
                info.size = len(data)
                info.mode = 0o644
                tar.addfile(info, io.BytesIO(data))
    print(f"{a.out}: {a.name}, manifest {main_entry['digest']}")


if __name__ == "__main__":
    main()
