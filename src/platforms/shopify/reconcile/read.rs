//! An order node read whole, as its webhook would have carried it: the lines past what the
//! listing asks, and the newest refund ([`super::refunds`]). The sweep reads each listed
//! order so; the worker reads one order so ([`order`]) for a refund whose webhook names its
//! order only.

use serde_json::{Value, json};
use url::Url;

use super::super::api::graphql_url;
use super::super::profile::Api;
use super::query::{lines_query, order_query};
use super::{ApiError, convert, graphql, refunds};

/// Lines fetched for one order (or one refund) at most: past this its document would be
/// wrong, so the order is skipped rather than sent short.
pub(super) const MAX_LINES: usize = 1000;

/// The REST order of the GraphQL order `node`, whole; `Ok(Err(why))` when it cannot be.
pub(super) async fn whole(
    client: &reqwest::Client,
    api: &Api,
    url: &Url,
    node: &Value,
) -> Result<Result<Value, String>, ApiError> {
    let mut rest = match convert::rest_order(node) {
        Ok(rest) => rest,
        Err(why) => return Ok(Err(why)),
    };
    let lines = &node["lineItems"]["pageInfo"];
    if lines["hasNextPage"] == true {
        let gid = node["id"].as_str().unwrap_or_default();
        let after = lines["endCursor"].as_str().unwrap_or_default();
        let more = more_nodes(client, api, url, &lines_query(), gid, after, |d| {
            &d["order"]["lineItems"]
        })
        .await?;
        let Some(more) = more else {
            return Ok(Err(format!("more than {MAX_LINES} lines")));
        };
        if let Some(list) = rest["line_items"].as_array_mut() {
            list.extend(more.iter().map(convert::line));
        }
    }
    if let Err(why) = refunds::complete(client, api, url, node, &mut rest).await? {
        return Ok(Err(why));
    }
    Ok(Ok(rest))
}

/// Order `order_id` (its REST id, digits) whole in REST's shape. Not found, or not readable
/// whole, is permanent.
pub(crate) async fn order(
    client: &reqwest::Client,
    api: &Api,
    order_id: &str,
) -> Result<Value, ApiError> {
    let url = graphql_url(api)?;
    let gid = format!("gid://shopify/Order/{order_id}");
    let body = graphql(client, api, &url, &order_query(), json!({ "id": gid })).await?;
    let node = &body["data"]["order"];
    if !node.is_object() {
        return Err(ApiError::Permanent(format!(
            "Shopify: no order {order_id} in this shop (orders older than 60 days need the read_all_orders scope besides read_orders)"
        )));
    }
    whole(client, api, &url, node)
        .await?
        .map_err(|why| ApiError::Permanent(format!("Shopify: order {order_id}: {why}")))
}

/// The nodes of the connection `connection` picks in the answers to `query` (with `$id` the
/// GraphQL id `gid`), from the cursor `after` on; `None` past [`MAX_LINES`].
pub(super) async fn more_nodes(
    client: &reqwest::Client,
    api: &Api,
    url: &Url,
    query: &str,
    gid: &str,
    after: &str,
    connection: impl Fn(&Value) -> &Value,
) -> Result<Option<Vec<Value>>, ApiError> {
    let mut nodes = Vec::new();
    let mut after = after.to_owned();
    while nodes.len() < MAX_LINES {
        let vars = json!({ "id": gid, "after": after });
        let body = graphql(client, api, url, query, vars).await?;
        let list = connection(&body["data"]);
        nodes.extend(convert::items(&list["nodes"]).cloned());
        match list["pageInfo"]["endCursor"].as_str() {
            Some(end) if list["pageInfo"]["hasNextPage"] == true && end != after => {
                after = end.to_owned();
            }
            _ => return Ok(Some(nodes)),
        }
    }
    Ok(None)
}
