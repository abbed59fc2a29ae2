//! `toolchainkit doctor [--json]`: run every check, print one line each, exit 1 on a problem.
//! On a terminal the level labels are coloured (`NO_COLOR` turns that off).

use crate::doctor;

pub(crate) fn run(json: bool) -> anyhow::Result<i32> {
    let ctx = doctor::Ctx::from_env();
    let checks = doctor::run_all(&ctx);
    if json {
        println!("{}", doctor::render_json(&checks));
    } else {
        print!("{}", doctor::render_text(&checks, doctor::colour_wanted()));
    }
    Ok(doctor::exit_code(&checks))
}
