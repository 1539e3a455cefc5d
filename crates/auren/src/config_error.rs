//! Every problem of a configuration, reported together.

use std::borrow::Cow;
use std::fmt;

/// One unusable setting: the variable (or field) at fault and what was expected.
///
/// It never holds the value itself, which may be a secret.
///
/// # Example
///
/// ```
/// use auren::ConfigProblem;
///
/// let problem = ConfigProblem::new("AUREN_LISTEN", "expected an address like 127.0.0.1:8888");
/// assert_eq!(problem.variable(), "AUREN_LISTEN");
/// assert_eq!(problem.to_string(), "AUREN_LISTEN: expected an address like 127.0.0.1:8888");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    variable: Cow<'static, str>,
    expected: &'static str,
}

impl ConfigProblem {
    /// A problem with `variable`, which should have been `expected`.
    pub fn new(variable: impl Into<Cow<'static, str>>, expected: &'static str) -> Self {
        Self {
            variable: variable.into(),
            expected,
        }
    }

    /// The variable (or configuration field) at fault.
    pub fn variable(&self) -> &str {
        &self.variable
    }

    /// What a usable value looks like.
    pub fn expected(&self) -> &str {
        self.expected
    }
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.variable, self.expected)
    }
}

/// A configuration that cannot be used, with every problem found in it.
///
/// Validation does not stop at the first bad variable: an operator fixes them all in one
/// round. The message names each variable and what was expected, never a value.
///
/// # Example
///
/// ```
/// use auren::AurenConfig;
///
/// let error = AurenConfig::from_lookup(|name| match name {
///     "REDIS_URL" => Some("http://not-redis".to_owned()),
///     "AUREN_RATE_LIMIT_ON_FAILURE" => Some("sometimes".to_owned()),
///     _ => None,
/// })
/// .unwrap_err();
///
/// let variables: Vec<&str> = error.problems().iter().map(|p| p.variable()).collect();
/// assert_eq!(variables, ["AUREN_RATE_LIMIT_ON_FAILURE", "REDIS_URL"]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    problems: Vec<ConfigProblem>,
}

impl ConfigError {
    /// An error with one problem.
    pub fn single(variable: impl Into<Cow<'static, str>>, expected: &'static str) -> Self {
        Self {
            problems: vec![ConfigProblem::new(variable, expected)],
        }
    }

    /// Adds a problem.
    pub fn push(&mut self, problem: ConfigProblem) {
        self.problems.push(problem);
    }

    /// Adds every problem of `other`.
    pub fn extend(&mut self, other: ConfigError) {
        self.problems.extend(other.problems);
    }

    /// Every problem found: those of single variables in the order they were read, then
    /// those that span variables or formats ([`AurenConfig::validate`](crate::AurenConfig::validate)).
    pub fn problems(&self) -> &[ConfigProblem] {
        &self.problems
    }

    /// Whether no problem was found.
    pub fn is_empty(&self) -> bool {
        self.problems.is_empty()
    }

    /// `Ok(value)` when no problem was found, else this error.
    ///
    /// # Errors
    ///
    /// `self`, when it holds at least one problem.
    pub fn or_ok<T>(self, value: T) -> Result<T, ConfigError> {
        if self.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.problems.as_slice() {
            [] => f.write_str("invalid configuration"),
            [one] => write!(f, "invalid {one}"),
            many => {
                write!(f, "invalid configuration ({} problems)", many.len())?;
                for problem in many {
                    write!(f, "; {problem}")?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_problem_reads_as_a_sentence() {
        let error = ConfigError::single("REDIS_URL", "expected a redis:// connection URL");

        assert_eq!(
            error.to_string(),
            "invalid REDIS_URL: expected a redis:// connection URL"
        );
    }

    #[test]
    fn several_problems_are_all_named() {
        let mut error = ConfigError::single("A", "expected a");
        error.push(ConfigProblem::new("B", "expected b"));

        let message = error.to_string();

        assert!(message.contains("2 problems"), "{message}");
        assert!(message.contains("A: expected a"), "{message}");
        assert!(message.contains("B: expected b"), "{message}");
    }

    #[test]
    fn an_empty_error_is_ok() {
        assert_eq!(ConfigError::default().or_ok(7), Ok(7));
        assert!(ConfigError::single("A", "a").or_ok(7).is_err());
    }
}
