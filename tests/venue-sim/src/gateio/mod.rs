//! Gate.io spot v4: websocket at `/ws/v4/`, REST under `/api/v4`.

pub(crate) mod render;
pub(crate) mod rest;
pub mod sign;
pub(crate) mod ws;

use serde_json::{json, Value};

use crate::market::Symbol;
use crate::trading::{Order, OrderKind, OrderStatus, Side};

/// Gate's wire name of a side.
pub(crate) fn side_str(s: Side) -> &'static str {
    match s {
        Side::Buy => "buy",
        Side::Sell => "sell",
    }
}

/// An order in Gate's REST / `spot.orders` shape. `fee` is what its fills paid, in
/// `fee_currency`, the asset it receives (no GT or point deduction: `gt_fee` and `point_fee`
/// stay 0).
pub(crate) fn order_json(o: &Order, sym: &Symbol) -> Value {
    let (status, finish_as) = match o.status {
        OrderStatus::Open => ("open", "open"),
        OrderStatus::Filled => ("closed", "filled"),
        OrderStatus::Cancelled => ("cancelled", "cancelled"),
    };
    json!({
        "id": o.id.to_string(),
        "text": if o.client_id.is_empty() { "apiv4".to_owned() } else { o.client_id.clone() },
        "amend_text": "-",
        "create_time": (o.create_ms / 1000).to_string(),
        "update_time": (o.update_ms / 1000).to_string(),
        "create_time_ms": o.create_ms,
        "update_time_ms": o.update_ms,
        "status": status,
        "currency_pair": sym.gate(),
        "type": match o.kind { OrderKind::Limit => "limit", OrderKind::Market => "market" },
        "account": "spot",
        "side": side_str(o.side),
        "amount": o.qty.normalize().to_string(),
        "price": o.price.normalize().to_string(),
        "time_in_force": match o.kind { OrderKind::Limit => "gtc", OrderKind::Market => "ioc" },
        "iceberg": "0",
        "left": o.left().normalize().to_string(),
        "filled_amount": o.filled.normalize().to_string(),
        "fill_price": o.filled_quote.normalize().to_string(),
        "filled_total": o.filled_quote.normalize().to_string(),
        "avg_deal_price": o.avg_price().to_string(),
        "fee": o.fee.normalize().to_string(),
        "fee_currency": o.fee_asset(sym),
        "point_fee": "0",
        "gt_fee": "0",
        "gt_discount": false,
        "rebated_fee": "0",
        "rebated_fee_currency": sym.quote,
        "finish_as": finish_as,
    })
}
