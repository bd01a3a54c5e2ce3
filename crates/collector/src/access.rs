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

    /// The account's Security Hub in this region; UNAVAILABLE when the authority cannot be asked.
    async fn hub_status(&self, account_id: &str) -> Result<HubStatus>;
}

/// An account's Security Hub in this collector's region.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HubStatus {
    /// The hub is enabled.
    pub enabled: bool,
    /// The account's Enabled Security Hub administrator here, if any.
    pub administrator_account_id: Option<String>,
}

/// The account a caller acts as; operators and services act for every account.
pub fn acting_account(caller: &Caller) -> Option<&str> {
    match &caller.principal {
        Principal::Operator | Principal::Service { .. } => None,
        Principal::Account { account_id }
        | Principal::OrganizationManagement { account_id, .. } => Some(account_id),
    }
}

/// FAILED_PRECONDITION `InvalidAccessException`: the account has no hub here.
pub fn hub_not_enabled(account_id: &str) -> Error {
    Error::failed_precondition(
        crate::error::reason::INVALID_ACCESS,
        format!(
            "account {account_id} is not subscribed to AWS Security Hub in this region; enable \
             it with SecurityHubMembersService.EnableSecurityHub first"
        ),
    )
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

    /// The Security Hub of `account_id` here.
    pub async fn hub_status(&self, account_id: &str) -> Result<HubStatus> {
        self.directory.hub_status(account_id).await
    }

    /// Fails with FAILED_PRECONDITION `InvalidAccessException` when `caller` acts as an account
    /// whose hub is not enabled here; Security Hub calls of such accounts are refused, as AWS
    /// refuses accounts not subscribed to Security Hub. Services and operators pass.
    pub async fn require_hub(&self, caller: &Caller) -> Result<()> {
        match acting_account(caller) {
            Some(account_id) if !self.hub_status(account_id).await?.enabled => {
                Err(hub_not_enabled(account_id))
            }
            _ => Ok(()),
        }
    }

    /// True when `caller` may change what customers own on `account_id`'s findings
    /// (BatchUpdateFindings): its own, or as the account's Enabled Security Hub administrator
    /// here; services and operators may for every account.
    pub async fn may_update_findings(&self, caller: &Caller, account_id: &str) -> Result<bool> {
        Ok(match acting_account(caller) {
            None => true,
            Some(own) if own == account_id => true,
            Some(own) => {
                self.hub_status(account_id)
                    .await?
                    .administrator_account_id
                    .as_deref()
                    == Some(own)
            }
        })
    }
}

type AccessClient = membership_pb::access_service_client::AccessServiceClient<
    InterceptedService<Channel, BearerToken>,
>;

/// The most answers remembered; expired ones are dropped first.
const MAX_CACHED_ANSWERS: usize = 10_000;

/// Answers remembered for a time-to-live; at most [`MAX_CACHED_ANSWERS`], expired ones dropped
/// first when full.
struct Answers<K, V> {
    ttl: Duration,
    entries: Mutex<HashMap<K, (Instant, V)>>,
}

impl<K: Eq + std::hash::Hash, V: Clone> Answers<K, V> {
    fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, (Instant, V)>> {
        self.entries
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// The answer for `key` if it is younger than the TTL.
    fn fresh<Q>(&self, key: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + std::hash::Hash + ?Sized,
    {
        self.lock()
            .get(key)
            .filter(|(answered_at, _)| answered_at.elapsed() < self.ttl)
            .map(|(_, answer)| answer.clone())
    }

    fn remember(&self, key: K, answer: V) {
        let now = Instant::now();
        let mut entries = self.lock();
        if entries.len() >= MAX_CACHED_ANSWERS {
            entries.retain(|_, (answered_at, _)| now.duration_since(*answered_at) < self.ttl);
            if entries.len() >= MAX_CACHED_ANSWERS {
                entries.clear();
            }
        }
        entries.insert(key, (now, answer));
    }
}

/// UNAVAILABLE for a membership call that failed, logged once.
fn membership_unavailable(what: &'static str) -> impl FnOnce(tonic::Status) -> Error {
    move |status| {
        tracing::warn!(
            code = ?status.code(),
            error = %status.message(),
            what,
            "membership could not answer"
        );
        tributary_runtime::Error::Unavailable(format!(
            "cannot {what} with membership right now; retry later"
        ))
        .into()
    }
}

/// Asks membership's `AccessService` (`CheckAccountAccess`, `DescribeHubStatus`) with the
/// collector's service key and remembers each answer (allowed or not) for the auth cache TTL,
/// like caller keys: a new or ended administrator relationship, or a hub enabled or disabled,
/// takes effect here within that time.
pub struct MembershipAccountDirectory {
    client: AccessClient,
    region: String,
    answers: Answers<(String, String), bool>,
    hubs: Answers<String, HubStatus>,
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
        let ttl = Duration::from_secs(settings.auth_cache_ttl_seconds);
        Ok(Self {
            client: membership_pb::access_service_client::AccessServiceClient::with_interceptor(
                channel,
                BearerToken::new(service_api_key)?,
            ),
            region: region.into(),
            answers: Answers::new(ttl),
            hubs: Answers::new(ttl),
        })
    }
}

#[tonic::async_trait]
impl AccountDirectory for MembershipAccountDirectory {
    async fn may_read(&self, reader_account_id: &str, target_account_id: &str) -> Result<bool> {
        let key = (reader_account_id.to_string(), target_account_id.to_string());
        if let Some(allowed) = self.answers.fresh(&key) {
            return Ok(allowed);
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
            .map_err(membership_unavailable("check account access"))?
            .into_inner();
        self.answers.remember(key, response.allowed);
        Ok(response.allowed)
    }

    async fn hub_status(&self, account_id: &str) -> Result<HubStatus> {
        if let Some(status) = self.hubs.fresh(account_id) {
            return Ok(status);
        }
        let response = self
            .client
            .clone()
            .describe_hub_status(membership_pb::DescribeHubStatusRequest {
                account_id: account_id.to_string(),
                region: self.region.clone(),
            })
            .await
            .map_err(membership_unavailable(
                "describe the account's Security Hub",
            ))?
            .into_inner();
        let status = HubStatus {
            enabled: response.hub_enabled,
            administrator_account_id: Some(response.administrator_account_id)
                .filter(|administrator| !administrator.is_empty()),
        };
        self.hubs.remember(account_id.to_string(), status.clone());
        Ok(status)
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

        async fn hub_status(&self, account_id: &str) -> Result<HubStatus> {
            Ok(HubStatus {
                enabled: account_id != "333333333333",
                administrator_account_id: (account_id == "222222222222")
                    .then(|| "111111111111".to_string()),
            })
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

    #[tokio::test]
    async fn administrators_update_members_findings_and_hubless_accounts_are_refused() {
        let access = AccountAccess::new(Arc::new(OneAdministrator));
        let administrator = caller(Principal::Account {
            account_id: "111111111111".into(),
        });
        let member = caller(Principal::Account {
            account_id: "222222222222".into(),
        });
        let service = caller(Principal::Service {
            name: "tributary".into(),
        });
        for (who, account, allowed) in [
            (&administrator, "111111111111", true),
            (&administrator, "222222222222", true),
            (&administrator, "333333333333", false),
            (&member, "111111111111", false),
            (&member, "222222222222", true),
            (&service, "333333333333", true),
        ] {
            assert_eq!(
                access.may_update_findings(who, account).await.unwrap(),
                allowed,
                "{who:?} on {account}"
            );
        }
        assert!(access.require_hub(&administrator).await.is_ok());
        assert!(access.require_hub(&service).await.is_ok());
        let hubless = caller(Principal::Account {
            account_id: "333333333333".into(),
        });
        let refused = access.require_hub(&hubless).await.unwrap_err();
        assert!(
            refused
                .to_string()
                .contains("not subscribed to AWS Security Hub")
        );
    }
}
