//! Entitlements: which (account, region) pairs an aggregator may hold right now, and why not for
//! the pairs it may not. Config aggregators resolve in `config_aggregators`, finding aggregators
//! here.

/// Whether an aggregator may hold a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PairStatus {
    /// Entitled.
    Authorized,
    /// Waiting for the source's authorization.
    Pending,
    /// The source declined the request.
    Declined,
    /// The request expired unanswered.
    Expired,
    /// Region not enabled, no hub there, or the account is suspended or closed.
    NotEnabled,
    /// Not (or no longer) in the organization, or not an enabled member there.
    NotAMember,
    /// The source deleted its authorization.
    Revoked,
}

/// One pair and its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntitlementPair {
    pub account_id: String,
    pub region: String,
    pub status: PairStatus,
    /// A human explanation.
    pub reason: String,
}

impl EntitlementPair {
    /// A pair with its status and explanation.
    pub fn new(
        account_id: impl Into<String>,
        region: impl Into<String>,
        status: PairStatus,
        reason: impl Into<String>,
    ) -> Self {
        Self {
            account_id: account_id.into(),
            region: region.into(),
            status,
            reason: reason.into(),
        }
    }
}

/// Orders pairs by account then region, as every answer is returned.
pub fn sort_pairs(pairs: &mut [EntitlementPair]) {
    pairs.sort_by(|left, right| {
        (&left.account_id, &left.region).cmp(&(&right.account_id, &right.region))
    });
}
