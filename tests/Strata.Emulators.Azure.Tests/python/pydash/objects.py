"""pydash.objects: get, set_ and omit over nested dicts, lists and attributes, with dotted paths."""

_MISSING = object()


def _keys(path):
    if isinstance(path, (list, tuple)):
        return list(path)
    if isinstance(path, int):
        return [path]
    return [k for k in str(path).replace("[", ".").replace("]", "").split(".") if k != ""]


def _child(obj, key):
    if isinstance(obj, dict):
        return obj.get(key, _MISSING)
    if isinstance(obj, (list, tuple)):
        try:
            return obj[int(key)]
        except (ValueError, IndexError):
            return _MISSING
    return getattr(obj, str(key), _MISSING)


def get(obj, path, default=None):
    for key in _keys(path):
        if obj is None:
            return default
        obj = _child(obj, key)
        if obj is _MISSING:
            return default
    return obj


def set_(obj, path, value):
    keys = _keys(path)
    target = obj
    for key in keys[:-1]:
        nxt = _child(target, key)
        if nxt is _MISSING or nxt is None:
            nxt = {}
            if isinstance(target, dict):
                target[key] = nxt
            else:
                setattr(target, key, nxt)
        target = nxt
    if isinstance(target, dict):
        target[keys[-1]] = value
    elif isinstance(target, list):
        target[int(keys[-1])] = value
    else:
        setattr(target, keys[-1], value)
    return obj


def omit(obj, *paths):
    names = set()
    for p in paths:
        names.update(p if isinstance(p, (list, tuple, set)) else [p])
    return {k: v for k, v in dict(obj).items() if k not in names}
