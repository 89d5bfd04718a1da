struct point {
    int x, y;
};
struct point scale_point(struct point p, int factor);
