//! GetFindings: the AWS filter language compiled to indexed SQL by `tributary_securityhub`, sorted
//! and keyset-paged; and the filter index the import path keeps next to each stored finding.

use tributary_proto::collector::v1 as pb;
use tributary_runtime::{auth::Caller, paging::page_size, time::now};
use tributary_securityhub::{
    filter::{Filters, INVALID_INPUT, Sort},
    index::{ControlChange, FindingIndex},
    query::{FindingQuery, find},
    schema::Tables,
};

use super::{DEFAULT_PAGE, Findings, MAX_PAGE, decode};
use crate::{
    access::{AccountAccess, acting_account},
    change_log::ChangeTx,
    error::Result,
};

/// The collector's findings table and its filter index.
pub const TABLES: Tables = Tables {
    findings: "findings",
    values: "finding_values",
    payload: "finding",
};

/// Which accounts a search by `caller` covers: the accounts its AwsAccountId filter names with
/// EQUALS only (each of which the caller must be allowed to read), otherwise the caller's own
/// account; `None` (every account) for service and operator callers without such a filter.
pub(crate) async fn search_scope(
    access: &AccountAccess,
    caller: &Caller,
    filters: &Filters,
) -> Result<Option<Vec<String>>> {
    if let Some(account_ids) = filters.equal_account_ids() {
        let mut violations = tributary_runtime::Violations::new();
        for (index, account_id) in account_ids.iter().enumerate() {
            violations.check(
                format!("filters.aws_account_id[{index}].value"),
                tributary_runtime::ids::validate_account_id(account_id),
            );
        }
        violations.finish_with(INVALID_INPUT)?;
        for account_id in &account_ids {
            access.require_read(caller, account_id).await?;
        }
        return Ok(Some(account_ids));
    }
    Ok(acting_account(caller).map(|account_id| vec![account_id.to_string()]))
}

/// Microseconds since the epoch, now.
pub(crate) fn now_micros() -> i64 {
    now().timestamp_micros()
}

/// Stores the filter index of `finding`, whose row the caller has just written through
/// `change_tx` over `previous` (the finding as stored before; `None` for a new one), and keeps the
/// statuses of the controls it counts for (appending their change records). Every write of a
/// finding row calls this in the same transaction.
pub async fn index_finding(
    change_tx: &mut ChangeTx,
    finding: &pb::Finding,
    previous: Option<&pb::Finding>,
) -> Result<()> {
    let change = tributary_securityhub::index::write_over(
        change_tx.tx(),
        &TABLES,
        &FindingIndex::of(finding),
        previous.map(FindingIndex::of).as_ref(),
    )
    .await?;
    crate::controls::finding_changed(change_tx, change).await
}

/// Forgets the filter index of the finding with `key` (account, product ARN, id) before the
/// caller deletes its row through `change_tx`, and keeps its control's status.
pub async fn unindex_finding(change_tx: &mut ChangeTx, key: &[String; 3]) -> Result<()> {
    let change: ControlChange =
        tributary_securityhub::index::remove(change_tx.tx(), &TABLES, key).await?;
    crate::controls::finding_changed(change_tx, change).await
}

impl Findings {
    /// One page of the findings matching the request's filters, in its sort order.
    pub async fn get(
        &self,
        caller: &Caller,
        request: pb::GetFindingsRequest,
    ) -> Result<(Vec<pb::Finding>, String)> {
        let limit = page_size(request.page_size, DEFAULT_PAGE, MAX_PAGE)?;
        let filters = Filters::parse(&request.filters.unwrap_or_default(), "filters")?;
        self.access.require_hub(caller).await?;
        let sort = Sort::parse(&request.sort_criteria)?;
        let accounts = search_scope(&self.access, caller, &filters).await?;
        let query = FindingQuery {
            filters: &filters,
            accounts: accounts.as_deref(),
            now_micros: now_micros(),
        };
        let (payloads, next_page_token) = find(
            self.change_log.db(),
            &TABLES,
            &self.page_tokens,
            "GetFindings",
            &query,
            &sort,
            &request.page_token,
            u64::from(limit),
        )
        .await?;
        let findings = payloads
            .iter()
            .map(|payload| decode(payload))
            .collect::<Result<Vec<_>>>()?;
        Ok((findings, next_page_token))
    }
}
