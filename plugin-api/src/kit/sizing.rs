//! How a [`NewOrder`] is sized: in the base asset (`qty`) or, for a market buy, in the quote
//! asset to spend (`quote_qty`), checked once for every venue.

use crate::{NewOrder, Num, OrderType, PluginError, Side};

/// The size an order gives, checked by [`size`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Size {
    /// `qty`: a positive amount of the base asset.
    Base(Num),
    /// `quote_qty`: a positive amount of the quote asset to spend (market buys only).
    Quote(Num),
}

fn positive(n: &Num) -> bool {
    !n.is_zero() && !n.to_decimal().is_sign_negative()
}

/// The size `order` gives, or an [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported)
/// error: it sets both `qty` and `quote_qty`, sets `quote_qty` on anything but a market buy,
/// gives a size that is not positive, or is a limit order without a positive price.
///
/// A venue that sizes market buys only one way refuses the other [`Size`] itself.
///
/// # Examples
///
/// ```
/// use plugin_api::kit::sizing::{size, Size};
/// use plugin_api::{Instrument, NewOrder, Num, OrderType, Side};
///
/// let mut buy = NewOrder {
///     instrument: Instrument::new("BTC/USDT", "BTCUSDT").unwrap(),
///     side: Side::Buy,
///     order_type: OrderType::Market,
///     price: Num::ZERO,
///     qty: Num::ZERO,
///     quote_qty: Num::parse("25").unwrap(),
///     client_id: "".into(),
/// };
/// assert_eq!(size(&buy)?, Size::Quote(Num::parse("25").unwrap()));
/// buy.side = Side::Sell;
/// assert!(size(&buy).is_err());
/// # Ok::<(), plugin_api::PluginError>(())
/// ```
pub fn size(order: &NewOrder) -> Result<Size, PluginError> {
    let refuse = |why: &str| Err(PluginError::unsupported(why.to_owned()));
    if !order.qty.is_zero() && !order.quote_qty.is_zero() {
        return refuse("an order gives `qty` or `quote_qty`, not both");
    }
    let market_buy = order.order_type == OrderType::Market && order.side == Side::Buy;
    if order.order_type == OrderType::Limit && !positive(&order.price) {
        return refuse("limit price must be positive");
    }
    if !order.quote_qty.is_zero() {
        return match (market_buy, positive(&order.quote_qty)) {
            (false, _) => refuse("`quote_qty` sizes market buys only; set `qty` for this order"),
            (true, false) => refuse("order `quote_qty` must be positive"),
            (true, true) => Ok(Size::Quote(order.quote_qty)),
        };
    }
    if !positive(&order.qty) {
        return refuse("order quantity must be positive");
    }
    Ok(Size::Base(order.qty))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Instrument;

    fn order(side: Side, order_type: OrderType, price: &str, qty: &str, quote: &str) -> NewOrder {
        NewOrder {
            instrument: Instrument::new("BTC/USDT", "BTCUSDT").unwrap(),
            side,
            order_type,
            price: Num::parse(price).unwrap(),
            qty: Num::parse(qty).unwrap(),
            quote_qty: Num::parse(quote).unwrap(),
            client_id: "".into(),
        }
    }

    fn refused(o: &NewOrder) -> String {
        size(o).unwrap_err().message.to_string()
    }

    #[test]
    fn base_or_quote_sizes_are_read() {
        let n = |s| Num::parse(s).unwrap();
        let o = order(Side::Buy, OrderType::Market, "0", "0", "25.5");
        assert_eq!(size(&o).unwrap(), Size::Quote(n("25.5")));
        let o = order(Side::Buy, OrderType::Market, "0", "0.1", "0");
        assert_eq!(size(&o).unwrap(), Size::Base(n("0.1")));
        let o = order(Side::Sell, OrderType::Limit, "65000", "0.1", "0");
        assert_eq!(size(&o).unwrap(), Size::Base(n("0.1")));
    }

    #[test]
    fn sizes_no_venue_takes_are_refused() {
        let cases = [
            (Side::Buy, OrderType::Market, "0", "0.1", "25", "not both"),
            (
                Side::Sell,
                OrderType::Market,
                "0",
                "0",
                "25",
                "market buys only",
            ),
            (
                Side::Buy,
                OrderType::Limit,
                "1",
                "0",
                "25",
                "market buys only",
            ),
            (
                Side::Buy,
                OrderType::Market,
                "0",
                "0",
                "-1",
                "`quote_qty` must be positive",
            ),
            (
                Side::Buy,
                OrderType::Market,
                "0",
                "0",
                "0",
                "quantity must be positive",
            ),
            (
                Side::Sell,
                OrderType::Limit,
                "1",
                "-1",
                "0",
                "quantity must be positive",
            ),
            (
                Side::Sell,
                OrderType::Limit,
                "0",
                "1",
                "0",
                "price must be positive",
            ),
        ];
        for (side, kind, price, qty, quote, why) in cases {
            let m = refused(&order(side, kind, price, qty, quote));
            assert!(m.contains(why), "{side:?} {kind:?} {qty}/{quote}: {m}");
        }
    }
}
