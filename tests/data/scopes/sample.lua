local M = {}

function M.total(items)
  local t = 0
  for _, i in ipairs(items) do
    t = t + i
  end
  return t
end

return M
