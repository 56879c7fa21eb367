//! What can go wrong with a whole batch, as opposed to one URL.
//!
//! One URL's failure is an [`HttpError`](crate::http::HttpError) in that URL's slot, and the
//! other URLs keep their pages. The batch itself fails only when a strategy breaks its promise
//! of one result per URL: then results can no longer be matched to their URLs, and both
//! contexts ([`Downloader`](super::Downloader), [`StaticDownloader`](super::StaticDownloader))
//! say so rather than hand them back.

use super::Fetched;

/// Why a context could not hand back the results of a batch.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StrategyError {
    /// The strategy broke its contract: it returned a number of results other than one per URL,
    /// so results can no longer be matched to their URLs.
    #[error("strategy {strategy:?} returned {got} results for {expected} URLs")]
    WrongCount {
        /// The strategy's name.
        strategy: String,
        /// How many URLs were given.
        expected: usize,
        /// How many results came back.
        got: usize,
    },
}

/// Check the one-result-per-URL promise before handing results to the caller. The name is
/// asked for only on failure, so a strategy's `name` costs nothing on the happy path.
pub(super) fn checked(
    name: impl FnOnce() -> String,
    expected: usize,
    results: Fetched,
) -> Result<Fetched, StrategyError> {
    if results.len() == expected {
        Ok(results)
    } else {
        Err(StrategyError::WrongCount {
            strategy: name(),
            expected,
            got: results.len(),
        })
    }
}
