//! Checking the chains: every row's hash, its link to its predecessor and its sequence.

use std::collections::{HashMap, HashSet};
use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::chain::{SealedEvent, GENESIS_HASH, HASH_LEN};

/// What is wrong with a row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
#[non_exhaustive]
pub enum ProblemKind {
    /// The stored hash does not match the row's fields: the row was modified.
    HashMismatch,
    /// The row's previous hash is not its predecessor's hash: a row before it was
    /// modified, removed or replaced.
    BrokenLink,
    /// Sequence numbers skip or repeat: a row was deleted or inserted before this one.
    SequenceGap {
        /// The sequence number expected here.
        expected: i64,
    },
    /// The chain's first remaining row has no genesis, no retention anchor and no stored
    /// predecessor: rows at the start of the chain were removed.
    MissingStart,
    /// The row names a chain no writer opened: it was inserted by hand.
    UnknownChain,
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProblemKind::HashMismatch => f.write_str("its hash does not match its contents"),
            ProblemKind::BrokenLink => f.write_str("it does not link to its predecessor"),
            ProblemKind::SequenceGap { expected } => {
                write!(f, "the sequence skips or repeats (expected {expected})")
            }
            ProblemKind::MissingStart => f.write_str("the rows before it are missing"),
            ProblemKind::UnknownChain => f.write_str("its chain was never opened by a writer"),
        }
    }
}

/// The first bad row found in a chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The row's event id.
    pub event_id: String,
    /// The row's request id.
    pub request_id: Option<String>,
    /// The row's chain.
    pub chain_id: String,
    /// The row's sequence number.
    pub seq: i64,
    /// The row's timestamp.
    pub occurred_at: DateTime<Utc>,
    /// What is wrong.
    #[serde(flatten)]
    pub kind: ProblemKind,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "row {} (chain {}, seq {}, at {}): {}",
            self.event_id,
            self.chain_id,
            self.seq,
            self.occurred_at.to_rfc3339(),
            self.kind
        )
    }
}

/// The result of a verification.
///
/// ```
/// use auren_audit::{Action, AuditEvent, ChainState, MemorySink, Outcome};
///
/// let sink = MemorySink::new();
/// let mut chain = ChainState::new();
/// sink.open_chain_now(chain.chain_id());
/// sink.store(vec![chain.seal(AuditEvent::new(Action::Read, "/", Outcome::Success))]);
/// let report = sink.verify_now(None, None);
/// assert!(report.is_ok());
/// assert_eq!(report.rows_checked, 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Rows looked at.
    pub rows_checked: u64,
    /// Chains looked at.
    pub chains_checked: u64,
    /// Chains with at least one bad row.
    pub bad_chains: u64,
    /// The earliest bad row over all chains, if any.
    pub first_problem: Option<Problem>,
}

impl VerifyReport {
    /// Whether every row checked out.
    pub fn is_ok(&self) -> bool {
        self.first_problem.is_none()
    }
}

/// Walks rows sorted by chain and sequence number, remembering the first problem of each
/// chain.
#[derive(Debug, Default)]
pub(crate) struct Verifier {
    known_chains: HashSet<String>,
    /// Allowed predecessors of a chain's first row: (chain, seq) -> hash. Retention anchors
    /// and, for a time-bounded check, the stored row just before the range.
    links: HashMap<(String, i64), [u8; HASH_LEN]>,
    current: Option<Cursor>,
    rows_checked: u64,
    chains_checked: u64,
    problems: Vec<Problem>,
}

#[derive(Debug)]
struct Cursor {
    chain_id: String,
    last_seq: i64,
    last_hash: [u8; HASH_LEN],
    failed: bool,
}

impl Verifier {
    pub(crate) fn new(known_chains: HashSet<String>) -> Self {
        Self {
            known_chains,
            ..Self::default()
        }
    }

    /// Accepts `hash` as the legitimate predecessor (`seq`) of a chain's first row.
    pub(crate) fn allow_link(&mut self, chain_id: &str, seq: i64, hash: [u8; HASH_LEN]) {
        self.links.insert((chain_id.to_owned(), seq), hash);
    }

    /// Checks the next row; rows must come sorted by `(chain_id, seq)`.
    pub(crate) fn push(&mut self, row: &SealedEvent) {
        self.rows_checked += 1;
        let same_chain = self
            .current
            .as_ref()
            .is_some_and(|cursor| cursor.chain_id == row.chain_id());

        if !same_chain {
            self.chains_checked += 1;
            let problem = self.check_start(row);
            self.current = Some(Cursor {
                chain_id: row.chain_id().to_owned(),
                last_seq: row.seq(),
                last_hash: *row.hash(),
                failed: problem.is_some(),
            });
            self.problems
                .extend(problem.map(|kind| problem_at(row, kind)));
            return;
        }

        let Some(cursor) = self.current.as_mut() else {
            return;
        };
        if cursor.failed {
            return;
        }
        let problem = if row.seq() != cursor.last_seq + 1 {
            Some(ProblemKind::SequenceGap {
                expected: cursor.last_seq + 1,
            })
        } else if row.prev_hash() != &cursor.last_hash {
            Some(ProblemKind::BrokenLink)
        } else if !row.hash_is_valid() {
            Some(ProblemKind::HashMismatch)
        } else {
            None
        };
        cursor.last_seq = row.seq();
        cursor.last_hash = *row.hash();
        if let Some(kind) = problem {
            cursor.failed = true;
            self.problems.push(problem_at(row, kind));
        }
    }

    fn check_start(&self, row: &SealedEvent) -> Option<ProblemKind> {
        if !self.known_chains.contains(row.chain_id()) {
            return Some(ProblemKind::UnknownChain);
        }
        let genesis = row.seq() == 1 && row.prev_hash() == &GENESIS_HASH;
        let anchored = self
            .links
            .get(&(row.chain_id().to_owned(), row.seq() - 1))
            .is_some_and(|hash| hash == row.prev_hash());
        if !genesis && !anchored {
            return Some(ProblemKind::MissingStart);
        }
        (!row.hash_is_valid()).then_some(ProblemKind::HashMismatch)
    }

    pub(crate) fn finish(self) -> VerifyReport {
        let bad_chains = self.problems.len() as u64;
        let first_problem = self
            .problems
            .into_iter()
            .min_by(|a, b| (a.occurred_at, a.seq).cmp(&(b.occurred_at, b.seq)));
        VerifyReport {
            rows_checked: self.rows_checked,
            chains_checked: self.chains_checked,
            bad_chains,
            first_problem,
        }
    }
}

fn problem_at(row: &SealedEvent, kind: ProblemKind) -> Problem {
    Problem {
        event_id: row.event().event_id().to_string(),
        request_id: row.event().request_id().map(str::to_owned),
        chain_id: row.chain_id().to_owned(),
        seq: row.seq(),
        occurred_at: row.event().occurred_at(),
        kind,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Action, AuditEvent, ChainState, Outcome};

    fn chain(n: usize) -> (String, Vec<SealedEvent>) {
        let mut state = ChainState::new();
        let rows = (0..n)
            .map(|i| {
                state.seal(AuditEvent::new(
                    Action::Read,
                    &format!("/{i}"),
                    Outcome::Success,
                ))
            })
            .collect();
        (state.chain_id().to_owned(), rows)
    }

    fn verify(chain_id: &str, rows: &[SealedEvent]) -> VerifyReport {
        let mut verifier = Verifier::new(HashSet::from([chain_id.to_owned()]));
        rows.iter().for_each(|row| verifier.push(row));
        verifier.finish()
    }

    #[test]
    fn an_intact_chain_verifies() {
        let (id, rows) = chain(5);
        assert!(verify(&id, &rows).is_ok());
    }

    #[test]
    fn a_deleted_row_is_named_by_its_successor() {
        let (id, mut rows) = chain(5);
        rows.remove(2);
        let problem = verify(&id, &rows).first_problem.expect("detected");
        assert_eq!(problem.seq, 4);
        assert_eq!(problem.kind, ProblemKind::SequenceGap { expected: 3 });
    }

    #[test]
    fn a_modified_row_is_named() {
        let (id, mut rows) = chain(5);
        let row = &rows[1];
        let forged = row.event().clone().with_status(999);
        rows[1] = SealedEvent::from_stored(forged, id.clone(), 2, *row.prev_hash(), *row.hash());
        let problem = verify(&id, &rows).first_problem.expect("detected");
        assert_eq!((problem.seq, problem.kind), (2, ProblemKind::HashMismatch));
    }

    #[test]
    fn a_missing_start_needs_an_anchor() {
        let (id, rows) = chain(5);
        let problem = verify(&id, &rows[2..]).first_problem.expect("detected");
        assert_eq!((problem.seq, problem.kind), (3, ProblemKind::MissingStart));

        let mut verifier = Verifier::new(HashSet::from([id.clone()]));
        verifier.allow_link(&id, 2, *rows[1].hash());
        rows[2..].iter().for_each(|row| verifier.push(row));
        assert!(verifier.finish().is_ok());
    }
}
