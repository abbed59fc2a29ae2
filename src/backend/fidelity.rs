//! What toolchainkit repairs so that a compile through sccache leaves exactly what the
//! bare compiler leaves (as one through ccache already does). sccache 0.16 differs from
//! gcc in four ways, each fixed here with the smallest change that keeps the compile
//! cached:
//!
//! - **`-MD`/`-MMD` without `-MF`.** sccache passes gcc an explicit `-MF` for the default
//!   depfile but does not store that file, so a hit writes no depfile (`gcc.rs`,
//!   `parse_arguments`: only a `-MF` the user gave becomes the `d` output). `for_sccache`
//!   gives sccache the equivalent explicit form: `-MF <object with .d>` right after the
//!   flag, the name gcc itself uses (`%{!o:%b.d}%{o*:%.d%*}`). The depfile's bytes are
//!   the same (gcc's target is still the object), and the object too (`-MF` is not in
//!   `DW_AT_producer`).
//! - **Modes.** The server runs with umask 027, so every file it writes on a miss or a
//!   hit (object, depfile, `.dwo`, `.gcno`) is 0640 where gcc writes `0666 & !umask`:
//!   `super::fix_output_modes` sets every output `args::Args::outputs` names.
//! - **Locale.** sccache's key has no locale variable, so a hit replays the diagnostics
//!   of whichever locale compiled first (ASCII quotes for `LC_ALL=C`, UTF-8 ones for
//!   `C.UTF-8`). `locale_buster` mixes the locale that decides gcc's messages into
//!   `SCCACHE_C_CUSTOM_CACHE_BUSTER` of the compile request, the variable sccache hashes
//!   into both its keys (`c.rs` and `preprocessor_cache.rs`, `CACHED_ENV_VARS`) for this
//!   purpose. In the C locale (or none) nothing is added: the key stays the one bare
//!   sccache computes.
//! - **A failing preprocessor.** sccache preprocesses first; when that fails it answers
//!   with the preprocessor's diagnostics, which lack the compile's context (gcc's
//!   `In function 'f':` before a `-pedantic-errors` error on a `//` comment). Such a
//!   compile (`cache error` in the server's log, an exit code) is run again directly,
//!   and only the compiler's own output reaches the build (`rerun_directly`).

use std::borrow::Cow;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::process::ExitStatus;

use super::sccache::log::{Result as LogResult, Seen};

/// The variable sccache mixes into its C/C++ keys.
pub const BUSTER: &str = "SCCACHE_C_CUSTOM_CACHE_BUSTER";

/// The arguments to hand sccache for `args`: the same, with gcc's default depfile named
/// explicitly (`-MF PATH` after the first `-MD`/`-MMD`) so that a hit writes it too.
/// Borrowed, without allocating, when nothing needs naming. `parsed` is `args` parsed.
pub fn for_sccache<'a>(
    args: &'a [OsString],
    parsed: &crate::args::Args<'_>,
) -> Cow<'a, [OsString]> {
    if !parsed.compile || parsed.sources.len() != 1 || parsed.response_file {
        return Cow::Borrowed(args);
    }
    let Some(dep) = parsed.default_depfile() else {
        return Cow::Borrowed(args);
    };
    let Some(at) = args.iter().position(|a| a == "-MD" || a == "-MMD") else {
        return Cow::Borrowed(args);
    };
    let mut out = Vec::with_capacity(args.len() + 2);
    out.extend_from_slice(&args[..=at]);
    out.push("-MF".into());
    out.push(dep.into_os_string());
    out.extend_from_slice(&args[at + 1..]);
    Cow::Owned(out)
}

/// The variables whose values decide the language and the character set of gcc's
/// messages: ccache's four (it hashes `LANG`, `LC_ALL`, `LC_CTYPE`, `LC_MESSAGES`), and
/// `LANGUAGE`, which gettext reads first outside the C locale.
const LOCALE_VARS: [&str; 5] = ["LC_ALL", "LC_MESSAGES", "LC_CTYPE", "LANG", "LANGUAGE"];

/// `SCCACHE_C_CUSTOM_CACHE_BUSTER` for a compile request when the locale can change
/// what the compiler prints: the user's own value, then the effective `LC_CTYPE` and
/// `LC_MESSAGES` (`LC_ALL`, else the category's variable, else `LANG`) and `LANGUAGE`.
/// `None` when both categories are the C locale (or unset): then sccache's key is left
/// as bare sccache computes it. `get` reads a variable (the process environment).
pub fn locale_buster(get: impl Fn(&str) -> Option<OsString>) -> Option<(OsString, OsString)> {
    let [all, messages, ctype, lang, language] =
        LOCALE_VARS.map(|v| get(v).filter(|x| !x.is_empty()));
    let effective = |category: &Option<OsString>| {
        all.clone()
            .or_else(|| category.clone())
            .or_else(|| lang.clone())
    };
    let (msg, ct) = (effective(&messages), effective(&ctype));
    let is_c = |v: &Option<OsString>| v.as_ref().is_none_or(|x| x == "C" || x == "POSIX");
    if is_c(&msg) && is_c(&ct) {
        return None;
    }
    let mut value: Vec<u8> = get(BUSTER).map(OsString::into_vec).unwrap_or_default();
    for (name, v) in [
        ("LC_CTYPE", &ct),
        ("LC_MESSAGES", &msg),
        ("LANGUAGE", &language),
    ] {
        if let Some(v) = v {
            if !value.is_empty() {
                value.push(b' ');
            }
            value.extend_from_slice(b"toolchainkit.");
            value.extend_from_slice(name.as_bytes());
            value.push(b'=');
            value.extend_from_slice(v.as_bytes());
        }
    }
    Some((BUSTER.into(), OsStr::from_bytes(&value).to_owned()))
}

/// Was sccache's answer its preprocessor's failure (`cache error`, and an exit code that
/// is a failure)? Then the build must see the compiler's own diagnostics: run it
/// directly. Not for a preprocessor killed by a signal (answered as the bare compiler
/// would die, or by the sccache client's own line and exit code 254, already printed):
/// a compiler that was killed is not started again.
pub fn rerun_directly(seen: Option<&Seen>, status: ExitStatus) -> bool {
    matches!(status.code(), Some(c) if c != 0 && c != 254)
        && matches!(seen, Some(Seen::One(LogResult::CacheError)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn the_default_depfile_is_named_for_sccache() {
        let sent = |a: &[OsString]| for_sccache(a, &crate::args::parse(a)).into_owned();
        let got = |v: &[&str]| sent(&os(v));
        assert_eq!(
            got(&["-MMD", "-MP", "-Iinc", "-c", "u.c", "-o", "obj/u.o"]),
            os(&[
                "-MMD", "-MF", "obj/u.d", "-MP", "-Iinc", "-c", "u.c", "-o", "obj/u.o"
            ])
        );
        assert_eq!(
            got(&["-c", "src/u.c", "-MD"]),
            os(&["-c", "src/u.c", "-MD", "-MF", "u.d"])
        );
        // Already explicit, or nothing to name: the arguments as they are, not copied.
        for v in [
            &["-MMD", "-MF", "x.d", "-c", "u.c"][..],
            &["-MMD", "-MFx.d", "-c", "u.c"],
            &["-c", "u.c", "-o", "u.o"],
            &["-MD", "-S", "u.c"],
            &["-MD", "-c", "a.c", "b.c"],
            &["-MD", "-c", "@rsp"],
            &["-MD", "-c", "u.c", "-dumpdir", "d/"],
            &["-MD", "-Wp,-MF,x.d", "-c", "u.c"],
        ] {
            let a = os(v);
            let got = for_sccache(&a, &crate::args::parse(&a));
            assert!(matches!(got, Cow::Borrowed(_)), "{v:?}: {got:?}");
        }
    }

    #[test]
    fn the_locale_is_mixed_in_only_outside_the_c_locale() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                vars.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| OsString::from(v))
            }
        };
        let value = |vars: &'static [(&'static str, &'static str)]| {
            locale_buster(env(vars)).map(|(k, v)| {
                assert_eq!(k, BUSTER);
                v.into_string().unwrap_or_default()
            })
        };
        for c in [
            &[][..],
            &[("LC_ALL", "C")],
            &[("LANG", "POSIX"), ("LANGUAGE", "de")],
            &[("LC_ALL", ""), ("LANG", "C")],
            &[("LC_ALL", "C"), ("LANG", "de_DE.UTF-8")],
        ] {
            assert_eq!(value(c), None, "{c:?}");
        }
        assert_eq!(
            value(&[("LC_ALL", "C.UTF-8")]).as_deref(),
            Some("toolchainkit.LC_CTYPE=C.UTF-8 toolchainkit.LC_MESSAGES=C.UTF-8")
        );
        assert_eq!(
            value(&[
                ("LANG", "de_DE.UTF-8"),
                ("LC_MESSAGES", "C"),
                ("LANGUAGE", "fr")
            ])
            .as_deref(),
            Some(
                "toolchainkit.LC_CTYPE=de_DE.UTF-8 toolchainkit.LC_MESSAGES=C toolchainkit.LANGUAGE=fr"
            )
        );
        // The user's own value is kept, first.
        assert_eq!(
            value(&[("LANG", "en_US.UTF-8"), (BUSTER, "mine")]).as_deref(),
            Some("mine toolchainkit.LC_CTYPE=en_US.UTF-8 toolchainkit.LC_MESSAGES=en_US.UTF-8")
        );
        // Different locales, different keys.
        assert_ne!(
            value(&[("LANG", "C.UTF-8")]),
            value(&[("LANG", "de_DE.UTF-8")])
        );
    }

    #[test]
    fn only_a_failed_preprocessor_is_rerun() {
        use std::os::unix::process::ExitStatusExt;
        let code = |c: i32| ExitStatus::from_raw(c << 8);
        let ce = Seen::One(LogResult::CacheError);
        assert!(rerun_directly(Some(&ce), code(1)));
        assert!(!rerun_directly(Some(&ce), code(0)));
        assert!(
            !rerun_directly(Some(&ce), code(254)),
            "the client's own exit"
        );
        assert!(
            !rerun_directly(Some(&ce), ExitStatus::from_raw(11)),
            "a signal"
        );
        let failed = Seen::One(LogResult::CompileFailed);
        assert!(!rerun_directly(Some(&failed), code(1)));
        assert!(!rerun_directly(Some(&Seen::Nothing), code(1)));
        assert!(!rerun_directly(None, code(1)));
    }
}
