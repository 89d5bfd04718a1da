use std::f64::consts::PI;

pub trait Shape {
    fn name(&self) -> &'static str;
    fn area(&self) -> f64;
    fn perimeter(&self) -> f64;
}

pub struct Circle(pub f64);
pub struct Rect(pub f64, pub f64);
pub struct Triangle(pub f64, pub f64, pub f64);

impl Shape for Circle {
    fn name(&self) -> &'static str {
        "circle"
    }
    fn area(&self) -> f64 {
        PI * self.0 * self.0
    }
    fn perimeter(&self) -> f64 {
        2.0 * PI * self.0
    }
}

impl Shape for Rect {
    fn name(&self) -> &'static str {
        "rectangle"
    }
    fn area(&self) -> f64 {
        self.0 * self.1
    }
    fn perimeter(&self) -> f64 {
        2.0 * (self.0 + self.1)
    }
}

impl Shape for Triangle {
    fn name(&self) -> &'static str {
        "triangle"
    }
    fn area(&self) -> f64 {
        let s = self.perimeter() / 2.0;
        (s * (s - self.0) * (s - self.1) * (s - self.2)).sqrt()
    }
    fn perimeter(&self) -> f64 {
        self.0 + self.1 + self.2
    }
}

pub fn sample_shapes() -> Vec<Box<dyn Shape>> {
    crate::registry::count_call();
    vec![Box::new(Circle(1.5)), Box::new(Rect(2.0, 3.5)), Box::new(Triangle(3.0, 4.0, 5.0))]
}

pub fn total_area(shapes: &[Box<dyn Shape>]) -> f64 {
    crate::registry::count_call();
    shapes.iter().map(|s| s.area()).sum()
}
