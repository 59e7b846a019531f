"""Writes gateio/session.jsonl and mexc/session.jsonl from the vendored venue fixtures.

Run from anywhere: python3 plugin-testkit/captures/make_sessions.py
"""
import json, os
HERE = os.path.dirname(os.path.abspath(__file__))
F=os.path.join(HERE, '../../tests/fixtures/venues/gateio'); M=os.path.join(HERE, '../../tests/fixtures/venues/mexc')
OUT=HERE
def jl(p): return [json.loads(l) for l in open(f'{F}/{p}') if l.strip()]
def w(lines, path):
    with open(path,'w') as f:
        for l in lines: f.write(json.dumps(l, separators=(',',':'))+'\n')

# ---- Gate.io
cf='captures/cryptofeed_2021-04-22'
obu=jl(f'{cf}/ws_spot_order_book_update.jsonl')
rest=jl(f'{cf}/rest_spot_order_book_with_id.jsonl')
bt=jl('ws_book_ticker.jsonl'); tr=jl('ws_trades.jsonl'); ctl=jl('ws_control.jsonl')
g=[{"op":"comment","text":"Gate.io spot v4 session for plugin-testkit. Frames are copied from tests/fixtures/venues/gateio (see plugin-testkit/captures/README.md); each frame's `src` names file:line."},
   {"op":"open","conn":"public"},
   {"op":"subscribe","conn":"public","topics":[{"kind":"depth","symbol":"HAI/ETH"},{"kind":"depth","symbol":"OMG/USDT"},{"kind":"trades","symbol":"BTC/USDT"},{"kind":"book_ticker","symbol":"BTC/USDT"}]}]
def frame(msg, src, label=None):
    d={"op":"frame","conn":"public","json":msg,"src":src}
    if label: d["label"]=label
    return d
# acks: the two order_book_update acks of the cryptofeed session (lines 11,12) and the trades ack (ws_control.jsonl line 8)
g.append(frame(obu[10]['raw'], f'{cf}/ws_spot_order_book_update.jsonl:11', 'ack'))
g.append(frame(obu[11]['raw'], f'{cf}/ws_spot_order_book_update.jsonl:12', 'ack'))
g.append(frame(ctl[6]['msg'], 'ws_control.jsonl:7', 'ack'))
prev=obu[10]['local_ts']
def clock(ts):
    global prev
    ms=int(round((ts-prev)*1000)); prev=ts
    if ms>0: g.append({"op":"clock","advance_ms":ms})
want={'HAI_ETH':0,'OMG_USDT':3}
answered=set()
for i in range(20,60):
    d=obu[i]; r=d['raw']['result']; s=r['s']
    if s not in want: continue
    clock(d['local_ts'])
    g.append(frame(d['raw'], f'{cf}/ws_spot_order_book_update.jsonl:{i+1}'))
    if s not in answered:
        answered.add(s)
        rr=rest[want[s]]
        g.append({"op":"rest","method":"GET","path":"/api/v4/spot/order_book","query":f"currency_pair={s}&limit=100&with_id=true","status":200,"json":rr['body'],"src":f'{cf}/rest_spot_order_book_with_id.jsonl:{want[s]+1}'})
g.append({"op":"clock","advance_ms":100})
g.append(frame(bt[0]['msg'],'ws_book_ticker.jsonl:1'))
g.append(frame(bt[1]['msg'],'ws_book_ticker.jsonl:2'))
g.append(frame(tr[1]['msg'],'ws_trades.jsonl:2'))
g.append(frame(ctl[0]['msg'],'ws_control.jsonl:1 (pong)'))
g.append({"op":"heartbeat","conn":"public"})
g.append({"op":"stop"})
w(g, f'{OUT}/gateio/session.jsonl')

# ---- MEXC
pb=[json.loads(l) for l in open(f'{M}/samples/ws_pb_frames.jsonl')]
mc=[json.loads(l) for l in open(f'{M}/samples/ws_control.jsonl')]
m=[{"op":"comment","text":"MEXC spot v3 session for plugin-testkit. Frames are copied from tests/fixtures/venues/mexc (see plugin-testkit/captures/README.md); each frame's `src` names file:line."},
   {"op":"open","conn":"public"},
   {"op":"subscribe","conn":"public","topics":[{"kind":"book_ticker","symbol":"BTC/USDT"},{"kind":"trades","symbol":"BTC/USDT"},{"kind":"depth","symbol":"BTC/USDT"}]}]
def mframe(body, src, label=None):
    d={"op":"frame","conn":"public"}; d.update(body); d["src"]=src
    if label: d["label"]=label
    return d
m.append(mframe({"text":mc[6]['raw']},'samples/ws_control.jsonl:7','ack'))
m.append(mframe({"text":mc[7]['raw']},'samples/ws_control.jsonl:8','ack'))
for i,f in enumerate(pb):
    if f['name'] in ('A_kline_Min1',): continue
    m.append({"op":"clock","advance_ms":100})
    m.append(mframe({"hex":f['hex']}, f'samples/ws_pb_frames.jsonl:{i+1} ({f["name"]})'))
m.append({"op":"heartbeat","conn":"public"})
m.append(mframe({"text":mc[8]['raw']},'samples/ws_control.jsonl:9 (pong)'))
m.append({"op":"stop"})
w(m, f'{OUT}/mexc/session.jsonl')
