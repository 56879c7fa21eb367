use async_trait::async_trait;

/// React to an event; an `Err` says this observer failed, and stops nobody else.
#[async_trait]
pub trait Observer<E: Send + Sync + 'static>: Send + Sync {
    async fn notify(&self, event: &E) -> Result<(), String>;
}

/// Keeps a list of observers and tells each of them about every event.
pub struct Subject<E> {
    observers: Vec<Box<dyn Observer<E>>>,
}

impl<E: Send + Sync + 'static> Subject<E> {
    pub fn new() -> Self {
        Subject {
            observers: Vec::new(),
        }
    }

    pub fn subscribe(&mut self, observer: Box<dyn Observer<E>>) {
        self.observers.push(observer);
    }

    /// Tell every observer, one after another, and collect what each answered.
    pub async fn notify(&self, event: &E) -> Vec<Result<(), String>> {
        let mut answers = Vec::new();
        for observer in &self.observers {
            answers.push(observer.notify(event).await);
        }
        answers
    }
}
