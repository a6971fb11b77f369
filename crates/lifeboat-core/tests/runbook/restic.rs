//! `source.format: restic`: the keys of INTERFACE.md "Source formats", what they parse to,
//! and the exact messages for each way they can be wrong. The password never appears.

use indoc::indoc;
use lifeboat_core::runbook::{
    ManifestFormat, ManifestSpec, ResticPassword, ResticSpec, Select, SourceFormat,
};
use test_case::test_case;

use super::{SECRETS, errors, parse};

#[test]
fn the_interface_example_parses() {
    let text = indoc! {"
        version: 1
        name: payments-restic
        source:
          url: s3://acme-backups/restic/payments
          format: restic
          options: { region: eu-central-1 }
          restic:
            password: ${RESTIC_PASSWORD}
            host: db01
            paths: [/srv/app]
            tags: [nightly]
        recovery_points:
          select: latest
          within: 30d
        manifest:
          path: /srv/app/SHA256SUMS
          format: sha256sum
    "};
    let rb = parse(text).unwrap();
    assert_eq!(
        rb.format,
        SourceFormat::Restic(ResticSpec {
            password: ResticPassword::Value(SECRETS[3].into()),
            host: Some("db01".into()),
            paths: vec!["/srv/app".into()],
            tags: vec!["nightly".into()],
            manifest: Some(ManifestSpec {
                path: "/srv/app/SHA256SUMS".into(),
                format: ManifestFormat::Sha256sum,
            }),
        })
    );
    assert_eq!(rb.recovery_points.select, Select::Latest);
    // The password is never shown, not even in a Debug print of the runbook.
    assert!(!format!("{rb:?}").contains(SECRETS[3]));
}

#[test]
fn a_password_file_and_no_filters_or_manifest() {
    let text = indoc! {"
        version: 1
        name: local-restic
        source:
          url: file:///srv/restic
          format: restic
          restic: { password_file: /etc/lifeboat/restic.pass }
    "};
    let rb = parse(text).unwrap();
    assert_eq!(
        rb.format,
        SourceFormat::Restic(ResticSpec {
            password: ResticPassword::File("/etc/lifeboat/restic.pass".into()),
            host: None,
            paths: vec![],
            tags: vec![],
            manifest: None,
        })
    );
}

#[test]
fn files_is_the_default_and_can_be_written() {
    let minimal = "version: 1\nname: demo\nsource:\n  url: file:///srv/b\n";
    assert_eq!(parse(minimal).unwrap().format, SourceFormat::Files);
    let written = "version: 1\nname: demo\nsource:\n  url: file:///srv/b\n  format: files\n";
    assert_eq!(parse(written).unwrap().format, SourceFormat::Files);
}

#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: file:///srv/restic
      format: borg
"}, "rb.yaml:5:11: source.format: unknown value \"borg\": expected one of files, restic" ; "unknown format")]
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: file:///srv/restic
      format: restic
"}, "rb.yaml:4:3: source.restic: required key is missing: expected a map with `password: ${VAR}` or `password_file: /ABSOLUTE/PATH`" ; "restic without its map")]
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: file:///srv/restic
      restic: { password_file: /etc/p }
"}, "rb.yaml:5:11: source.restic: only used with `source.format: restic`; set `format: restic` or remove it" ; "restic map without the format")]
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: file:///srv/restic
      format: restic
      restic: { host: db01 }
"}, "rb.yaml:6:11: source.restic.password: required key is missing: expected `password: ${VAR}` or `password_file: /ABSOLUTE/PATH` (exactly one)" ; "no password")]
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: file:///srv/restic
      format: restic
      restic: { password: '${RESTIC_PASSWORD}', password_file: /etc/p }
"}, "rb.yaml:6:60: source.restic.password_file: give either `password` or `password_file`, not both" ; "both passwords")]
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: file:///srv/restic
      format: restic
      restic: { password: '${RESTIC_PASSWORD_UNSET}' }
"}, "rb.yaml:6:23: source.restic.password: environment variable RESTIC_PASSWORD_UNSET is not set" ; "unset password variable")]
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: file:///srv/restic
      format: restic
      restic: { password_file: etc/p }
"}, "rb.yaml:6:28: source.restic.password_file: \"etc/p\" is not an absolute path: expected e.g. /etc/lifeboat/restic.pass" ; "relative password file")]
#[test_case(indoc! {r#"
    version: 1
    name: demo
    source:
      url: file:///srv/restic
      format: restic
      restic:
        password: ${RESTIC_PASSWORD}
        host: ""
        paths: [srv/app]
        tags: ["a,b"]
        tag: [x]
"#}, "rb.yaml:11:5: source.restic: unknown key `tag`, expected one of `password`, `password_file`, `host`, `paths`, `tags` (did you mean `tags`?)" ; "unknown restic key")]
#[test_case(indoc! {r#"
    version: 1
    name: demo
    source:
      url: file:///srv/restic
      format: restic
      restic:
        password: ${RESTIC_PASSWORD}
        host: ""
        paths: [srv/app]
        tags: ["a,b"]
"#}, "\
rb.yaml:8:11: source.restic.host: \"\" is empty or holds a control character: expected a host name as `restic snapshots` shows it
rb.yaml:9:13: source.restic.paths[0]: \"srv/app\" is not an absolute path: expected a path as `restic snapshots` shows it, e.g. /srv/app
rb.yaml:10:12: source.restic.tags[0]: \"a,b\" holds a comma: restic splits tags at commas; list each tag on its own" ; "bad filters")]
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: file:///srv/restic
      format: restic
      restic: { password: '${RESTIC_PASSWORD}' }
    recovery_points:
      time: name
      time_format: \"%Y\"
"}, "\
rb.yaml:8:9: recovery_points.time: not used with `source.format: restic` (a snapshot's time is its own); remove it
rb.yaml:9:16: recovery_points.time_format: not used with `source.format: restic` (a snapshot's time is its own); remove it" ; "point time keys")]
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: file:///srv/restic
      format: restic
      restic: { password: '${RESTIC_PASSWORD}' }
    manifest:
      path: srv/app/SHA256SUMS
"}, "rb.yaml:8:9: manifest.path: \"srv/app/SHA256SUMS\" is not absolute: expected the manifest's path inside the snapshot as `restic ls` lists it, e.g. /srv/app/SHA256SUMS" ; "relative manifest path")]
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: file:///srv/restic
      format: restic
      restic: { password: '${RESTIC_PASSWORD}' }
    manifest:
      format: b3sum
"}, "rb.yaml:8:3: manifest.path: required key is missing: expected the manifest's path inside the snapshot as `restic ls` lists it, e.g. /srv/app/SHA256SUMS" ; "manifest without a path")]
fn refused(text: &str, expected: &str) {
    assert_eq!(errors(text), expected);
}
