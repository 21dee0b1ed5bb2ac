//! The cursor of the sweep's listings asked by page number (WooCommerce, BigCommerce).

use super::{Fixes, WriteBackError, one_line};

/// Where a sweep's listing is, over a list sorted by modification time and asked by page
/// number. Page numbers alone lose orders: one that changes during the sweep moves to the
/// end, every later order shifts back one place, and the first of the next page is never
/// listed (and the watermark may pass it for good). So after a page the listing starts a new
/// window at that page's newest change, page 1 of it; the orders of that second already
/// listed are named in the cursor and left out when listed again. Only when a whole page
/// shares the window's first second (more orders changed in one second than a page holds)
/// does it go on by page number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::platforms) struct Window {
    /// The first second listed (Unix seconds): changes at or after it.
    pub from: i64,
    /// The page within the window, from 1.
    pub page: u64,
    /// Orders (ids of digits) changed within `from` that the page before listed.
    pub listed: Vec<String>,
}

impl Window {
    /// `cursor` as [`Window::text`] wrote it; `None`: page 1 from second `first` (Unix
    /// seconds).
    pub fn parse(
        cursor: Option<&str>,
        first: i64,
        fixes: &Fixes,
    ) -> Result<Window, WriteBackError> {
        let Some(text) = cursor else {
            return Ok(Window {
                from: first,
                page: 1,
                listed: Vec::new(),
            });
        };
        let mut parts = text.splitn(3, ':');
        let from = parts.next().and_then(|f| f.parse().ok());
        let page = parts
            .next()
            .and_then(|p| p.parse().ok())
            .filter(|p| *p >= 1);
        let listed: Option<Vec<String>> = match parts.next() {
            None => Some(Vec::new()),
            Some(ids) => ids
                .split(',')
                .map(|id| is_digits(id).then(|| id.to_owned()))
                .collect(),
        };
        match (from, page, listed) {
            (Some(from), Some(page), Some(listed)) => Ok(Window { from, page, listed }),
            _ => Err(WriteBackError::Permanent(format!(
                "{}: {:?} is not a listing cursor",
                fixes.platform,
                one_line(text, 40)
            ))),
        }
    }

    pub fn text(&self) -> String {
        if self.listed.is_empty() {
            format!("{}:{}", self.from, self.page)
        } else {
            format!("{}:{}:{}", self.from, self.page, self.listed.join(","))
        }
    }

    /// Whether order `id`, changed at `changed_at` (Unix ms), was listed on the page before:
    /// the boundary second listed again. An order changed since is not.
    pub fn listed_before(&self, id: &str, changed_at: Option<i64>) -> bool {
        self.page == 1
            && changed_at.is_some_and(|ms| ms.div_euclid(1000) == self.from)
            && self.listed.iter().any(|l| l == id)
    }

    /// Where to go after this page, which listed `changes` (each order's id and change time,
    /// Unix ms); `more`: the platform has more after it. `None`: this was the last page.
    pub fn next(&self, changes: &[(String, Option<i64>)], more: bool) -> Option<Window> {
        if !more {
            return None;
        }
        let second = |at: &Option<i64>| at.map(|ms| ms.div_euclid(1000));
        Some(
            match changes.iter().filter_map(|(_, at)| second(at)).max() {
                Some(newest) if newest > self.from => Window {
                    from: newest,
                    page: 1,
                    listed: changes
                        .iter()
                        .filter(|(id, at)| second(at) == Some(newest) && is_digits(id))
                        .map(|(id, _)| id.clone())
                        .collect(),
                },
                // The whole page within the window's first second (or without times): a new
                // window would list it again, so the next page of this one.
                _ => Window {
                    from: self.from,
                    page: self.page.saturating_add(1),
                    listed: Vec::new(),
                },
            },
        )
    }
}

fn is_digits(id: &str) -> bool {
    !id.is_empty() && id.len() <= 24 && id.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A listing as the platforms give it: the orders changed at or after `from` (seconds),
    /// oldest change first, `per_page` a page; and whether there are more.
    fn listed(orders: &[(u32, i64)], w: &Window, per_page: usize) -> (Vec<(u32, i64)>, bool) {
        let mut all: Vec<(u32, i64)> = orders
            .iter()
            .copied()
            .filter(|(_, ms)| ms.div_euclid(1000) >= w.from)
            .collect();
        all.sort_by_key(|(_, ms)| *ms);
        let skip = (w.page as usize - 1) * per_page;
        let page: Vec<(u32, i64)> = all.iter().copied().skip(skip).take(per_page).collect();
        (page, all.len() > skip + per_page)
    }

    const X: Fixes = Fixes {
        platform: "X",
        auth: "",
        base_key: "x.api_base_url",
        reset_ms_header: None,
    };

    fn changes(list: &[(&str, i64)]) -> Vec<(String, Option<i64>)> {
        list.iter()
            .map(|(id, at)| (id.to_string(), Some(*at)))
            .collect()
    }

    fn window(from: i64, page: u64, listed: &[&str]) -> Window {
        Window {
            from,
            page,
            listed: listed.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn the_window_moves_to_each_pages_newest_change() {
        let first = Window::parse(None, 1000, &X).unwrap();
        assert_eq!(first, window(1000, 1, &[]));
        // A page ending at 1010.5 s: page 1 of the window from 1010 s, naming the orders of
        // that second already listed.
        let page = changes(&[("7", 1_005_000), ("8", 1_010_100), ("9", 1_010_500)]);
        let next = first.next(&page, true).unwrap();
        assert_eq!(next, window(1010, 1, &["8", "9"]));
        assert!(next.listed_before("9", Some(1_010_500)));
        assert!(!next.listed_before("9", Some(1_011_000)), "changed since");
        assert!(!next.listed_before("10", Some(1_010_500)));
        // The last page ends the listing, wherever the window is.
        assert_eq!(first.next(&page, false), None);
        // A whole page in the window's first second: the next page of the same window.
        let bulk = next.next(&changes(&[("10", 1_010_700), ("11", 1_010_999)]), true);
        assert_eq!(bulk, Some(window(1010, 2, &[])));
        assert_eq!(
            window(1010, 2, &[]).next(&[("#1".into(), None)], true),
            Some(window(1010, 3, &[]))
        );
        assert!(!window(1010, 2, &["8"]).listed_before("8", Some(1_010_100)));
        // Then on again as soon as a page reaches a later second.
        assert_eq!(
            window(1010, 3, &[]).next(&changes(&[("12", 1_011_000)]), true),
            Some(window(1011, 1, &["12"]))
        );
    }

    #[test]
    fn the_cursor_is_written_and_read_back_and_nothing_else_reads() {
        for w in [
            window(-5, 7, &[]),
            window(1_764_064_800, 1, &["727", "728"]),
        ] {
            assert_eq!(Window::parse(Some(&w.text()), 0, &X), Ok(w));
        }
        assert_eq!(Window::parse(Some("1764064800:2"), 0, &X).unwrap().page, 2);
        for bad in [
            "", "2", "a:1", "1:0", "1:-1", "1:x", "1:2:", "1:2:x", "1:1:3,,4",
        ] {
            assert!(
                matches!(
                    Window::parse(Some(bad), 0, &X),
                    Err(WriteBackError::Permanent(_))
                ),
                "{bad}"
            );
        }
    }

    /// Every order is listed, and once, though one of the first page changes (moves to the
    /// end) between the first page and the second, and a bulk edit fills more than a page in
    /// one second.
    #[test]
    fn an_order_changed_during_the_listing_shifts_nothing_out() {
        let start: Vec<(u32, i64)> = (1..=9).map(|n| (n, 1_000_000 + n as i64 * 1000)).collect();
        let mut orders = start.clone();
        // 10..=16 changed in the same second, 17 after.
        orders.extend((10..=16).map(|n| (n, 1_020_000 + n as i64)));
        orders.push((17, 1_030_000));
        let mut seen = Vec::new();
        let mut w = Window::parse(None, 1000, &X).unwrap();
        let mut pages = 0;
        loop {
            let (page, more) = listed(&orders, &w, 3);
            pages += 1;
            assert!(pages < 50, "the listing must end");
            let page: Vec<(String, Option<i64>)> = page
                .iter()
                .map(|(id, at)| (id.to_string(), Some(*at)))
                .collect();
            seen.extend(
                page.iter()
                    .filter(|(id, at)| !w.listed_before(id, *at))
                    .map(|(id, at)| (id.parse::<u32>().unwrap(), at.unwrap())),
            );
            if pages == 1 {
                // Order 2 is paid meanwhile: it moves to the end.
                orders.iter_mut().find(|o| o.0 == 2).unwrap().1 = 1_040_000;
            }
            match w.next(&page, more) {
                Some(next) => w = next,
                None => break,
            }
        }
        let ids: std::collections::BTreeSet<u32> = seen.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, (1..=17).collect(), "after {pages} pages");
        // Once each, but order 2 twice: before and after its change.
        assert_eq!(seen.len(), 18, "{seen:?}");
        // By page number alone, order 4 (the first of page 2) would have been missed.
        let mut by_number = std::collections::BTreeSet::new();
        let mut orders = start;
        for page in 1..=3 {
            let (items, _) = listed(&orders, &window(1000, page, &[]), 3);
            by_number.extend(items.iter().map(|(id, _)| *id));
            orders.iter_mut().find(|o| o.0 == 2).unwrap().1 = 1_040_000;
        }
        assert!(!by_number.contains(&4), "{by_number:?}");
    }
}
