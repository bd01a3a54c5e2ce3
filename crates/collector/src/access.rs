//! Who may act for which account, and the seam where change-log streams ask whether a caller may
//! receive an account's changes.

use tributary_runtime::auth::{Caller, Principal};

use crate::error::{Error, Result};

/// Fails with `AccessDeniedException` unless `caller` may read and write `account_id`'s data: an
/// account (or organization management) principal acts only for its own account; service and
/// operator principals act for any account.
pub fn require_account_access(caller: &Caller, account_id: &str) -> Result<()> {
    match &caller.principal {
        Principal::Operator | Principal::Service { .. } => Ok(()),
        Principal::Account {
            account_id: own_account,
        }
        | Principal::OrganizationManagement {
            account_id: own_account,
            ..
        } if own_account == account_id => Ok(()),
        _ => Err(Error::access_denied(format!(
            "this key may not act for account {account_id}; an account key acts only for its own \
             account"
        ))),
    }
}

/// The accounts a change-log stream asks for.
#[derive(Debug, Clone, Copy)]
pub enum StreamedAccounts<'a> {
    /// Every account of the region.
    All,
    /// Exactly these accounts.
    Listed(&'a [String]),
}

/// Decides whether a caller may receive the change-log records of the accounts it asks for.
/// Subscribe and Snapshot call it before streaming anything.
#[tonic::async_trait]
pub trait StreamEntitlements: Send + Sync {
    /// Fails with PERMISSION_DENIED when `caller` may not stream `accounts`.
    async fn check(&self, caller: &Caller, accounts: StreamedAccounts<'_>) -> Result<()>;
}

/// The current policy: service and operator principals may stream every account. It does not yet
/// narrow a service to the accounts membership entitles it to; that check belongs here.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServicePrincipalsMayStream;

#[tonic::async_trait]
impl StreamEntitlements for ServicePrincipalsMayStream {
    async fn check(&self, caller: &Caller, _accounts: StreamedAccounts<'_>) -> Result<()> {
        caller.require_service_or_operator()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(principal: Principal) -> Caller {
        Caller {
            key_id: "key".into(),
            principal,
        }
    }

    #[test]
    fn accounts_act_only_for_themselves() {
        let own = caller(Principal::Account {
            account_id: "111111111111".into(),
        });
        assert!(require_account_access(&own, "111111111111").is_ok());
        assert!(require_account_access(&own, "222222222222").is_err());
        let management = caller(Principal::OrganizationManagement {
            organization_id: "o-abcdefghij".into(),
            account_id: "111111111111".into(),
        });
        assert!(require_account_access(&management, "111111111111").is_ok());
        assert!(require_account_access(&management, "222222222222").is_err());
        for principal in [
            Principal::Operator,
            Principal::Service {
                name: "tributary".into(),
            },
        ] {
            assert!(require_account_access(&caller(principal), "222222222222").is_ok());
        }
    }
}
