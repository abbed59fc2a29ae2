//! This machine's user and group files (`/etc/passwd`, `/etc/group`), read directly.
//!
//! The binary is linked statically, where glibc's `getpwuid` would need NSS modules at
//! run time; the two lookups toolchainkit needs (the home directory when `HOME` is unset,
//! and whether a group is a user's private group) read the files themselves. Users and
//! groups known only to a directory service are not found here, and every caller treats
//! "not found" as the cautious answer.

use std::path::PathBuf;

/// One `/etc/passwd` entry (the fields toolchainkit uses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PasswdEntry {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: PathBuf,
}

fn parse_passwd_line(line: &str) -> Option<PasswdEntry> {
    let f: Vec<&str> = line.split(':').collect();
    if f.len() < 7 {
        return None;
    }
    Some(PasswdEntry {
        name: f[0].to_string(),
        uid: f[2].parse().ok()?,
        gid: f[3].parse().ok()?,
        home: PathBuf::from(f[5]),
    })
}

fn passwd_entries(text: &str) -> impl Iterator<Item = PasswdEntry> + '_ {
    text.lines().filter_map(parse_passwd_line)
}

/// The `/etc/passwd` entry of `uid`.
pub(crate) fn passwd_entry(uid: u32) -> Option<PasswdEntry> {
    let text = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd_entries(&text).find(|e| e.uid == uid)
}

/// Is `gid` the private group of `uid` (pure): no other user has it as primary group and
/// the group lists no member but that user. A group missing from `group` is not private.
pub(crate) fn group_is_private_in(passwd: &str, group: &str, gid: u32, uid: u32) -> bool {
    let Some(me) = passwd_entries(passwd).find(|e| e.uid == uid) else {
        return false;
    };
    if passwd_entries(passwd).any(|e| e.gid == gid && e.uid != uid) {
        return false;
    }
    group.lines().any(|line| {
        let f: Vec<&str> = line.split(':').collect();
        f.len() >= 4
            && f[2].parse::<u32>().ok() == Some(gid)
            && f[3]
                .split(',')
                .map(str::trim)
                .filter(|m| !m.is_empty())
                .all(|m| m == me.name)
    })
}

/// `group_is_private_in` on this machine's files.
pub(crate) fn group_is_private(gid: u32, uid: u32) -> bool {
    let (Ok(p), Ok(g)) = (
        std::fs::read_to_string("/etc/passwd"),
        std::fs::read_to_string("/etc/group"),
    ) else {
        return false;
    };
    group_is_private_in(&p, &g, gid, uid)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\nann:x:1000:1000:Ann:/home/ann:/bin/sh\nbob:x:1001:100:Bob:/home/bob:/bin/sh\ncat:x:1002:100::/home/cat:/bin/sh\n";
    const GROUP: &str =
        "root:x:0:\nann:x:1000:\nusers:x:100:\ndev:x:2000:ann,bob\nsolo:x:2001:ann\n";

    #[test]
    fn entries_and_private_groups() {
        let ann = passwd_entries(PASSWD).find(|e| e.uid == 1000).expect("ann");
        assert_eq!(ann.home, PathBuf::from("/home/ann"));
        assert!(group_is_private_in(PASSWD, GROUP, 1000, 1000));
        assert!(group_is_private_in(PASSWD, GROUP, 2001, 1000));
        assert!(
            !group_is_private_in(PASSWD, GROUP, 100, 1001),
            "shared primary"
        );
        assert!(
            !group_is_private_in(PASSWD, GROUP, 2000, 1000),
            "two members"
        );
        assert!(
            !group_is_private_in(PASSWD, GROUP, 3000, 1000),
            "unknown group"
        );
    }
}
