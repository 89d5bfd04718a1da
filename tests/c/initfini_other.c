void say(const char *s);

__attribute__((constructor(200))) static void ctor200(void) { say("ctor 200 (other.c)"); }
__attribute__((constructor(65000))) static void ctor65000(void) { say("ctor 65000 (other.c)"); }
__attribute__((constructor)) static void ctor_plain(void) { say("ctor default (other.c)"); }

__attribute__((destructor(200))) static void dtor200(void) { say("dtor 200 (other.c)"); }
__attribute__((destructor)) static void dtor_plain(void) { say("dtor default (other.c)"); }
