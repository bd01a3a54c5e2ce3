//! Who may act for which account: an account principal writes only its own data; it reads its
//! own data and, where membership says it administers them, its members' data.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use tonic::{service::interceptor::InterceptedService, transport::Channel};
use tributary_proto::membership::v1 as membership_pb;
use tributary_runtime::{
    auth::{Caller, Principal},
    client::BearerToken,
    config::MembershipClientSettings,
};

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

/// Answers whether one account may read another's data in this collector's region.
#[tonic::async_trait]
pub trait AccountDirectory: Send + Sync {
    /// True when `reader_account_id` may read `target_account_id`'s data here (for example as its
    /// Security Hub administrator); UNAVAILABLE when the authority cannot be asked.
    async fn may_read(&self, reader_account_id: &str, target_account_id: &str) -> Result<bool>;
}

/// Who may read and write which account's data: writes stay with the account itself (and
/// services); reads also reach the account's administrators, as membership decides.
#[derive(Clone)]
pub struct AccountAccess {
    directory: Arc<dyn AccountDirectory>,
}

impl AccountAccess {
    /// Lets administrators read as `directory` says.
    pub fn new(directory: Arc<dyn AccountDirectory>) -> Self {
        Self { directory }
    }

    /// Fails with `AccessDeniedException` unless `caller` may write `account_id`'s data.
    pub fn require_write(&self, caller: &Caller, account_id: &str) -> Result<()> {
        require_account_access(caller, account_id)
    }

    /// Fails with `AccessDeniedException` unless `caller` may read `account_id`'s data: what it
    /// may write, plus the accounts it administers per the directory.
    pub async fn require_read(&self, caller: &Caller, account_id: &str) -> Result<()> {
        let reader = match &caller.principal {
            Principal::Operator | Principal::Service { .. } => return Ok(()),
            Principal::Account { account_id: reader }
            | Principal::OrganizationManagement {
                account_id: reader, ..
            } => reader,
        };
        if reader == account_id || self.directory.may_read(reader, account_id).await? {
            return Ok(());
        }
        Err(Error::access_denied(format!(
            "account {reader} may not read account {account_id}'s data in this region; an \
             account reads its own data and, as their administrator, its members' data"
        )))
    }
}

type AccessClient = membership_pb::access_service_client::AccessServiceClient<
    InterceptedService<Channel, BearerToken>,
>;

/// The most answers remembered; expired ones are dropped first.
const MAX_CACHED_ANSWERS: usize = 10_000;

/// Asks membership's `AccessService.CheckAccountAccess` with the collector's service key and
/// remembers each answer (allowed or not) for the auth cache TTL, like caller keys: a new or ended
/// administrator relationship takes effect here within that time.
pub struct MembershipAccountDirectory {
    client: AccessClient,
    region: String,
    ttl: Duration,
    answers: Mutex<HashMap<(String, String), (Instant, bool)>>,
}

impl MembershipAccountDirectory {
    /// Asks the membership of `settings` about `region`. Connects lazily.
    pub fn new(settings: &MembershipClientSettings, region: impl Into<String>) -> Result<Self> {
        let service_api_key = settings.service_api_key.as_deref().ok_or_else(|| {
            tributary_runtime::Error::Config(
                "service_api_key (TRIBUTARY_SERVICE_API_KEY) is required to check account access \
                 with membership"
                    .into(),
            )
        })?;
        let channel = tributary_runtime::client::lazy_channel(&settings.membership_endpoint)?;
        Ok(Self {
            client: membership_pb::access_service_client::AccessServiceClient::with_interceptor(
                channel,
                BearerToken::new(service_api_key)?,
            ),
            region: region.into(),
            ttl: Duration::from_secs(settings.auth_cache_ttl_seconds),
            answers: Mutex::new(HashMap::new()),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), (Instant, bool)>> {
        self.answers
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}

#[tonic::async_trait]
impl AccountDirectory for MembershipAccountDirectory {
    async fn may_read(&self, reader_account_id: &str, target_account_id: &str) -> Result<bool> {
        let key = (reader_account_id.to_string(), target_account_id.to_string());
        let now = Instant::now();
        if let Some((answered_at, allowed)) = self.lock().get(&key)
            && now.duration_since(*answered_at) < self.ttl
        {
            return Ok(*allowed);
        }
        let response = self
            .client
            .clone()
            .check_account_access(membership_pb::CheckAccountAccessRequest {
                caller_account_id: reader_account_id.to_string(),
                target_account_id: target_account_id.to_string(),
                region: self.region.clone(),
            })
            .await
            .map_err(|status| {
                tracing::warn!(
                    code = ?status.code(),
                    error = %status.message(),
                    "membership could not check account access"
                );
                tributary_runtime::Error::Unavailable(
                    "cannot check account access with membership right now; retry later".into(),
                )
            })?
            .into_inner();
        let mut answers = self.lock();
        if answers.len() >= MAX_CACHED_ANSWERS {
            answers.retain(|_, (answered_at, _)| now.duration_since(*answered_at) < self.ttl);
            if answers.len() >= MAX_CACHED_ANSWERS {
                answers.clear();
            }
        }
        answers.insert(key, (now, response.allowed));
        Ok(response.allowed)
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

    /// Says the administrator 111111111111 may read 222222222222 and nothing else.
    struct OneAdministrator;

    #[tonic::async_trait]
    impl AccountDirectory for OneAdministrator {
        async fn may_read(&self, reader: &str, target: &str) -> Result<bool> {
            Ok(reader == "111111111111" && target == "222222222222")
        }
    }

    #[tokio::test]
    async fn administrators_read_members_but_write_only_themselves() {
        let access = AccountAccess::new(Arc::new(OneAdministrator));
        let administrator = caller(Principal::Account {
            account_id: "111111111111".into(),
        });
        assert!(
            access
                .require_read(&administrator, "111111111111")
                .await
                .is_ok()
        );
        assert!(
            access
                .require_read(&administrator, "222222222222")
                .await
                .is_ok()
        );
        assert!(
            access
                .require_read(&administrator, "333333333333")
                .await
                .is_err()
        );
        assert!(
            access
                .require_write(&administrator, "222222222222")
                .is_err()
        );
        let member = caller(Principal::Account {
            account_id: "222222222222".into(),
        });
        assert!(access.require_read(&member, "111111111111").await.is_err());
        let service = caller(Principal::Service {
            name: "tributary".into(),
        });
        assert!(access.require_read(&service, "333333333333").await.is_ok());
    }
}
