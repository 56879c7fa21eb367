/// The component: a URL in, a page or an error out.
pub trait Http {
    fn get(&self, url: &str) -> Result<String, String>;
}

/// A decorator holds a component and is one: the same trait in and out.
pub struct Retry {
    pub inner: Box<dyn Http>,
    pub attempts: u32,
}

impl Http for Retry {
    fn get(&self, url: &str) -> Result<String, String> {
        let mut result = self.inner.get(url);
        for _ in 1..self.attempts {
            if result.is_ok() {
                break;
            }
            result = self.inner.get(url);
        }
        result
    }
}

/// Decorators nest, because each one is an `Http`: the caller cannot tell.
pub fn decorate(client: Box<dyn Http>) -> Box<dyn Http> {
    Box::new(Retry {
        inner: client,
        attempts: 3,
    })
}
