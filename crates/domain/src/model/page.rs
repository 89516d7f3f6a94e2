//! Pagination: the validated request and a page of results.

use crate::error::Violations;

/// `?page=&per_page=`, validated: page 1..=10,000,000, per_page 1..=100 (default 1
/// and 20). The page bound keeps the offset far inside every database's integer
/// range: an unbounded page overflowed the query builder's offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub page: u64,
    pub per_page: u64,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self { page: 1, per_page: 20 }
    }
}

impl PageRequest {
    pub const MAX_PER_PAGE: u64 = 100;
    /// The deepest page: a billion items at the largest page size.
    pub const MAX_PAGE: u64 = 10_000_000;

    pub fn new(page: Option<u64>, per_page: Option<u64>) -> crate::Result<Self> {
        let mut violations = Violations::default();
        let page = page.unwrap_or(1);
        let per_page = per_page.unwrap_or(20);
        if !(1..=Self::MAX_PAGE).contains(&page) {
            violations.add("page", "must be between 1 and 10000000");
        }
        if !(1..=Self::MAX_PER_PAGE).contains(&per_page) {
            violations.add("per_page", "must be between 1 and 100");
        }
        violations.finish()?;
        Ok(Self { page, per_page })
    }

    pub fn offset(&self) -> u64 {
        (self.page - 1) * self.per_page
    }
}

/// One page of a list plus the total number of items.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub request: PageRequest,
    pub total: u64,
}

impl<T> Page<T> {
    pub fn pages(&self) -> u64 {
        self.total.div_ceil(self.request.per_page)
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), request: self.request, total: self.total }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bounds() {
        assert_eq!(PageRequest::new(None, None).unwrap(), PageRequest { page: 1, per_page: 20 });
        assert_eq!(PageRequest::new(Some(3), Some(100)).unwrap().offset(), 200);
        let error = PageRequest::new(Some(0), Some(101)).unwrap_err();
        let fields: Vec<_> = error.details().iter().map(|d| d.field.as_str()).collect();
        assert_eq!(fields, ["page", "per_page"]);
        let error = PageRequest::new(Some(u64::MAX), Some(100)).unwrap_err();
        assert_eq!(error.details()[0].field, "page");
        let deepest = PageRequest::new(Some(PageRequest::MAX_PAGE), Some(PageRequest::MAX_PER_PAGE)).unwrap();
        assert!(i64::try_from(deepest.offset()).is_ok());
    }

    #[test]
    fn pages_round_up() {
        let page = Page { items: vec![1], request: PageRequest { page: 1, per_page: 20 }, total: 41 };
        assert_eq!(page.pages(), 3);
        let empty = Page::<u8> { items: vec![], request: PageRequest::default(), total: 0 };
        assert_eq!(empty.pages(), 0);
    }
}
