/* _Unwind_Backtrace walks the stack through .eh_frame, found via PT_GNU_EH_FRAME /
 * .eh_frame_hdr; _Unwind_FindEnclosingFunction maps each return address back to the
 * start of its function through the same tables. Frames come from two objects. */
#include <stdio.h>
#include <unwind.h>

struct state {
    int total, recurse_frames, helper_frames, main_found;
};

int recurse(int depth, int (*at_bottom)(void));
int helper_in_other_object(int (*cb)(void));
int main(void);

static struct state st;

static _Unwind_Reason_Code on_frame(struct _Unwind_Context *ctx, void *arg) {
    struct state *s = arg;
    void *ip = (void *)_Unwind_GetIP(ctx);
    void *fn = _Unwind_FindEnclosingFunction(ip);
    s->total++;
    if (fn == (void *)recurse) s->recurse_frames++;
    if (fn == (void *)helper_in_other_object) s->helper_frames++;
    if (fn == (void *)main) s->main_found = 1;
    return _URC_NO_REASON;
}

static int take_backtrace(void) {
    _Unwind_Backtrace(on_frame, &st);
    return st.total;
}

__attribute__((noinline)) int recurse(int depth, int (*at_bottom)(void)) {
    if (depth == 0) return helper_in_other_object(at_bottom);
    return recurse(depth - 1, at_bottom) + 1;
}

int main(void) {
    int r = recurse(4, take_backtrace);
    printf("recurse frames: %d\n", st.recurse_frames);
    printf("helper frames: %d\n", st.helper_frames);
    printf("main found: %s\n", st.main_found ? "yes" : "no");
    printf("enough frames: %s\n", st.total >= 8 && r == st.total + 4 ? "yes" : "no");
    return 0;
}
