// Prototype: staged shared-memory all-reduce (copy-in of non-owned chunks,
// owner reduces from peers' staging + own buffer, owner publishes once,
// others copy out). 4 processes via fork; times median over iterations.
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <time.h>
#include <stdatomic.h>

#define W 4
typedef struct { _Atomic uint64_t staged, reduced, done; char pad[64-24]; } ctl_t;
static ctl_t *ctl; static float *stage; static size_t blockf; // floats per rank per half
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
static void waitge(_Atomic uint64_t *p, uint64_t v){int i=0; while(atomic_load_explicit(p,memory_order_acquire)<v){ if(++i>16) sched_yield(); }}
static void rng(size_t n,int k,size_t*lo,size_t*hi){*lo=n*k/W;*hi=n*(k+1)/W;}
static float *stg(int r,int half){return stage+((size_t)r*2+half)*blockf;}
static uint64_t epoch=0;
static void allreduce(int r,float*buf,size_t n){
  for(size_t off=0;off<n;off+=blockf){
    size_t bn = n-off<blockf? n-off: blockf; float*b=buf+off; epoch++; uint64_t e=epoch; int h=e&1; float*my=stg(r,h);
    for(int k=0;k<W;k++) if(k!=r) waitge(&ctl[k].done,e>=2?e-2:0);
    for(int k=0;k<W;k++){ if(k==r) continue; size_t lo,hi; rng(bn,k,&lo,&hi); memcpy(my+lo,b+lo,(hi-lo)*4);} 
    atomic_store_explicit(&ctl[r].staged,e,memory_order_release);
    size_t lo,hi; rng(bn,r,&lo,&hi);
    for(int k=0;k<W;k++) if(k!=r) waitge(&ctl[k].staged,e);
    float *s[W]; for(int k=0;k<W;k++) s[k]= k==r? b: stg(k,h);
    for(size_t i=lo;i<hi;i++){ float a=s[0][i]; for(int k=1;k<W;k++) a+=s[k][i]; b[i]=a; my[i]=a; }
    atomic_store_explicit(&ctl[r].reduced,e,memory_order_release);
    for(int k=0;k<W;k++){ if(k==r) continue; waitge(&ctl[k].reduced,e); size_t l2,h2; rng(bn,k,&l2,&h2); memcpy(b+l2,stg(k,h)+l2,(h2-l2)*4);} 
    atomic_store_explicit(&ctl[r].done,e,memory_order_release);
  }
}
static _Atomic uint64_t *bar;
static void barrier(int r,uint64_t *gen){ (*gen)++; atomic_fetch_add(bar,1); while(atomic_load(bar)<*gen*W) sched_yield(); }
int cmp(const void*a,const void*b){double x=*(double*)a,y=*(double*)b;return x<y?-1:x>y;}
int main(int argc,char**argv){
  size_t bytes=strtoull(argv[1],0,10); int iters=atoi(argv[2]); blockf=(argc>3?strtoull(argv[3],0,10):(4<<20))/4;
  size_t n=bytes/4;
  ctl=mmap(0,sizeof(ctl_t)*W+64,PROT_READ|PROT_WRITE,MAP_SHARED|MAP_ANONYMOUS,-1,0); bar=(void*)((char*)ctl+sizeof(ctl_t)*W);
  stage=mmap(0,(size_t)W*2*blockf*4,PROT_READ|PROT_WRITE,MAP_SHARED|MAP_ANONYMOUS,-1,0);
  for(int r=0;r<W;r++){ if(fork()==0){
    float*buf=aligned_alloc(64,n*4),*src=aligned_alloc(64,n*4); for(size_t i=0;i<n;i++) src[i]=(float)((i%7)+r);
    uint64_t g=0; double *t=malloc(sizeof(double)*iters);
    for(int it=-3;it<iters;it++){ memcpy(buf,src,n*4); barrier(r,&g); double t0=now(); allreduce(r,buf,n); double dt=now()-t0; if(it>=0)t[it]=dt; }
    for(size_t i=0;i<n;i++){ float want=(float)(4*(i%7)+6); if(buf[i]!=want){fprintf(stderr,"rank %d wrong at %zu: %f vs %f\n",r,i,buf[i],want);exit(1);} }
    qsort(t,iters,sizeof(double),cmp); if(r==0) printf("staged %zu bytes block %zu: median %.3f ms\n",bytes,blockf*4,t[iters/2]*1e3); exit(0);} }
  int st,bad=0; for(int r=0;r<W;r++){wait(&st); if(st) bad=1;} return bad;
}
