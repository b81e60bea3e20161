//! The guest's preopens, from the container's mount table.
//!
//! `run_wasi` runs as the container's process, with the root already
//! switched to the container's root file system and the OCI spec's mounts
//! in place (read-only ones mounted read-only). So the preopens are read
//! from `/proc/self/mountinfo`: `/` for the root, then one per mount of the
//! spec, each read-only if it is mounted so. The kernel's own file systems
//! (`/proc`, `/sys`, `/dev` and what is below them) are left out: nothing a
//! Wasm guest uses.

use std::path::PathBuf;

/// A directory the guest gets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Preopen {
    /// The directory in the container.
    pub host: PathBuf,
    /// Its guest path (the same).
    pub guest: String,
    /// Mounted read-only: the guest may change nothing below it.
    pub read_only: bool,
}

/// File systems that are the kernel's interfaces rather than data.
const PSEUDO: &[&str] = &[
    "proc",
    "sysfs",
    "cgroup",
    "cgroup2",
    "devpts",
    "devtmpfs",
    "mqueue",
    "securityfs",
    "debugfs",
    "tracefs",
    "pstore",
    "bpf",
    "configfs",
    "fusectl",
    "hugetlbfs",
    "binfmt_misc",
];

const KERNEL_TREES: &[&str] = &["/proc", "/sys", "/dev"];

/// The preopens for a mount table in the format of
/// `/proc/self/mountinfo`: the root first, then the other mounts in the
/// order they were mounted (a mount point mounted over counts once, with
/// the topmost mount's flags).
pub fn preopens(mountinfo: &str) -> Vec<Preopen> {
    let mut root_read_only = false;
    let mut others: Vec<Preopen> = Vec::new();
    for line in mountinfo.lines() {
        let Some(mount) = parse_line(line) else {
            continue;
        };
        if mount.point == "/" {
            root_read_only = mount.read_only;
            continue;
        }
        let kernel_tree = KERNEL_TREES
            .iter()
            .any(|t| mount.point == *t || mount.point.starts_with(&format!("{t}/")));
        if kernel_tree || PSEUDO.contains(&mount.fs_type.as_str()) {
            continue;
        }
        others.retain(|p| p.guest != mount.point);
        others.push(Preopen {
            host: PathBuf::from(&mount.point),
            guest: mount.point,
            read_only: mount.read_only,
        });
    }
    let mut all = vec![Preopen {
        host: PathBuf::from("/"),
        guest: "/".to_string(),
        read_only: root_read_only,
    }];
    all.extend(others);
    all
}

struct Mount {
    point: String,
    fs_type: String,
    read_only: bool,
}

/// `ID PARENT MAJ:MIN ROOT POINT OPTIONS [OPTIONAL...] - TYPE SOURCE SUPER`
fn parse_line(line: &str) -> Option<Mount> {
    let fields: Vec<&str> = line.split(' ').collect();
    let point = unescape(fields.get(4)?);
    let options = fields.get(5)?;
    let dash = fields.iter().position(|f| *f == "-")?;
    let fs_type = fields.get(dash + 1)?.to_string();
    Some(Mount {
        point,
        fs_type,
        read_only: options.split(',').any(|o| o == "ro"),
    })
}

/// Mount points escape space, tab, newline and backslash as `\ooo`.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let digits = bytes.get(i + 1..i + 4).unwrap_or_default();
        if bytes[i] == b'\\'
            && digits.len() == 3
            && digits.iter().all(|d| (b'0'..=b'7').contains(d))
        {
            let value = digits.iter().fold(0u32, |v, d| v * 8 + u32::from(d - b'0'));
            if let Ok(value) = u8::try_from(value) {
                out.push(value);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a container started by `ctr run --mount ...` sees (trimmed).
    const CONTAINER: &str = "\
612 540 0:61 / / rw,relatime - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w
613 612 0:64 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
614 612 0:65 / /dev rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755
615 614 0:66 / /dev/pts rw,nosuid,noexec,relatime - devpts devpts rw,gid=5,mode=620,ptmxmode=666
616 614 0:67 / /dev/shm rw,nosuid,nodev,noexec,relatime - tmpfs shm rw,size=65536k
617 614 0:63 / /dev/mqueue rw,nosuid,nodev,noexec,relatime - mqueue mqueue rw
618 612 0:68 / /sys ro,nosuid,nodev,noexec,relatime - sysfs sysfs ro
619 618 0:30 / /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup rw
620 612 254:0 /tmp/data /data ro,relatime - ext4 /dev/vda rw
621 612 254:0 /tmp/work\\040dir /work\\040dir rw,relatime - ext4 /dev/vda rw
622 612 0:69 / /run rw,nosuid,nodev - tmpfs tmpfs rw,size=65536k
623 613 0:64 /sys /proc/sys ro,relatime - proc proc rw
624 612 254:0 /tmp/a /data rw,relatime - ext4 /dev/vda rw
";

    #[test]
    fn container_mounts() {
        let p = preopens(CONTAINER);
        let summary: Vec<(&str, bool)> =
            p.iter().map(|p| (p.guest.as_str(), p.read_only)).collect();
        assert_eq!(
            summary,
            [
                ("/", false),
                ("/work dir", false),
                ("/run", false),
                ("/data", false)
            ]
        );
        assert_eq!(p[1].host, PathBuf::from("/work dir"));
    }

    #[test]
    fn read_only_root_and_mounts() {
        let p = preopens(
            "1 0 0:1 / / ro,relatime - overlay overlay rw\n\
             2 1 0:2 / /data ro,nosuid - ext4 /dev/vda rw\n\
             garbage\n",
        );
        assert_eq!(
            p,
            [
                Preopen {
                    host: "/".into(),
                    guest: "/".into(),
                    read_only: true
                },
                Preopen {
                    host: "/data".into(),
                    guest: "/data".into(),
                    read_only: true
                }
            ]
        );
    }

    #[test]
    fn escapes() {
        assert_eq!(unescape("/a\\040b\\011c\\134d"), "/a b\tc\\d");
        assert_eq!(unescape("/trailing\\04"), "/trailing\\04");
    }
}
