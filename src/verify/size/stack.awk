# stack.awk - worst-case stack depth from GCC -fcallgraph-info=su files.
#
# Reads the .ci (VCG) files of an image and prints the deepest call chain
# from the function named by -v root=NAME, summing each function's static
# frame.  Fails if the graph has a cycle (recursion) or a call through a
# pointer (GCC marks those as "__indirect_call"), because then no bound
# can be derived from the graph.
function title_of(s) {
	sub(/^.*title: "/, "", s); sub(/".*$/, "", s); return s
}
/^node:/ {
	t = title_of($0)
	if (match($0, /[0-9]+ bytes/)) {
		b = substr($0, RSTART, RLENGTH); sub(/ bytes/, "", b)
		if (!(t in size) || b + 0 > size[t]) size[t] = b + 0
	} else if (!(t in size)) {
		size[t] = -1
	}
	# Static functions are titled "file:name"; remember the bare name too.
	n = t; sub(/^.*:/, "", n); bare[t] = n
}
/^edge:/ {
	s = $0; sub(/^.*sourcename: "/, "", s); sub(/".*$/, "", s)
	d = $0; sub(/^.*targetname: "/, "", d); sub(/".*$/, "", d)
	if (!((s, d) in seen)) { seen[s, d] = 1; nout[s]++; out[s, nout[s]] = d }
}
function depth(f,    i, best, x, via) {
	if (f in memo) return memo[f]
	if (f in onstack) { print "stack.awk: recursion through " f > "/dev/stderr"; failed = 1; return 0 }
	if (f ~ /__indirect_call/) { print "stack.awk: indirect call" > "/dev/stderr"; failed = 1; return 0 }
	onstack[f] = 1
	best = 0; via = ""
	for (i = 1; i <= nout[f]; i++) {
		x = depth(out[f, i])
		if (x > best) { best = x; via = out[f, i] }
	}
	delete onstack[f]
	if (size[f] < 0) { unknown[f] = 1; size[f] = 0 }
	memo[f] = best + size[f]; next_of[f] = via
	return memo[f]
}
END {
	total = depth(root)
	for (f = root; f != ""; f = next_of[f])
		printf "  %6d  %s\n", size[f], bare[f] != "" ? bare[f] : f
	for (f in unknown) printf "  (no frame size known for %s: counted as 0)\n", f
	printf "worst-case stack: %d bytes\n", total
	exit failed
}
