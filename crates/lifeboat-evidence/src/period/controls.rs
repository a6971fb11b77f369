//! Mapping the evidence to the controls auditors cite.

/// One control the evidence maps to: what the report offers towards it, and what it does not
/// show. Deliberately modest: an auditor decides whether a control is met.
#[derive(Debug)]
pub struct Control {
    pub id: &'static str,
    pub title: &'static str,
    pub offers: &'static str,
    pub limits: &'static str,
}

pub const CONTROLS: [Control; 4] = [
    Control {
        id: "ISO/IEC 27001:2022 Annex A 8.13",
        title: "Information backup",
        offers: "Records of restore tests of the backup sets named here: when each ran, which \
                 recovery point was restored, which files were checked against the backup's own \
                 manifest and with what result. This supports the control's requirement that \
                 backup copies are regularly tested.",
        limits: "It does not show the backup policy, that backups cover all required \
                 information, or their retention, protection and off-site storage.",
    },
    Control {
        id: "SOC 2 (TSC 2017) A1.3",
        title: "Recovery plan testing",
        offers: "Periodic recovery tests with measured recovery time (RTO) and data-loss window \
                 (RPO) compared with the stated objectives, their failures with reasons, and \
                 scheduled tests that did not run.",
        limits: "A drill restores a sample of files (and runs the runbook's steps); it is not a \
                 test of the whole recovery plan, of people, or of failover of entire systems.",
    },
    Control {
        id: "NIST SP 800-53 Rev. 5 CP-4",
        title: "Contingency plan testing",
        offers: "Results of repeated, defined recovery tests (each runbook is the test \
                 definition; its SHA-256 is in every record), suitable as input to the review of \
                 test results.",
        limits: "Reviewing the results and initiating corrective actions are the organization's \
                 part; this report does not record them.",
    },
    Control {
        id: "NIST SP 800-53 Rev. 5 CP-9 (with CP-9(1))",
        title: "System backup; testing for reliability and integrity",
        offers: "Integrity testing of backup information: restored files' SHA-256/BLAKE3 digests \
                 compared with the backup's manifest, on a recorded random sample, with the \
                 records themselves hash-chained and, when a key is configured, signed.",
        limits: "A sample bounds, it does not exclude, corruption in files not sampled (see \
                 each drill's statistical statement); the manifest is trusted as published by \
                 the backup job.",
    },
];
