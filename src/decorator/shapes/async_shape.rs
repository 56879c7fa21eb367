use async_trait::async_trait;

/// The component: a URL in, a page or an error out.
#[async_trait]
pub trait Http: Send + Sync {
    async fn get(&self, url: &str) -> Result<String, String>;
}

/// A decorator holds a component and is one: the same trait in and out.
pub struct Retry {
    pub inner: Box<dyn Http>,
    pub attempts: u32,
}

#[async_trait]
impl Http for Retry {
    async fn get(&self, url: &str) -> Result<String, String> {
        let mut result = self.inner.get(url).await;
        for _ in 1..self.attempts {
            if result.is_ok() {
                break;
            }
            result = self.inner.get(url).await;
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
