// The container init: see src/init/init.ts\nexport {};
