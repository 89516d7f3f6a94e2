//! Pagination: the validated request and a page of results.

use crate::error::Violations;

/// `?page=&per_page=`, validated: page ≥ 1, per_page 1..=100 (default 1 and 20).
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

    pub fn new(page: Option<u64>, per_page: Option<u64>) -> crate::Result<Self> {
        let mut violations = Violations::default();
        let page = page.unwrap_or(1);
        let per_page = per_page.unwrap_or(20);
        if page == 0 {
            violations.add("page", "must be at least 1");
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
    }

    #[test]
    fn pages_round_up() {
        let page = Page { items: vec![1], request: PageRequest { page: 1, per_page: 20 }, total: 41 };
        assert_eq!(page.pages(), 3);
        let empty = Page::<u8> { items: vec![], request: PageRequest::default(), total: 0 };
        assert_eq!(empty.pages(), 0);
    }
}
